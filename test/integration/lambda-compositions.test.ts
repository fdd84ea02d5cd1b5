// Each feature function composes its own app (functions/<feature>/handler.ts): it must serve exactly
// its route table, the one CDK wires to it, over the same adapters as the local runtime here.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { composeChat } from "#functions/chat/handler.ts";
import { composeDocuments } from "#functions/documents/handler.ts";
import { composeFlashcards } from "#functions/flashcards/handler.ts";
import { featureRoutes } from "#functions/index.ts";
import { composeMeta } from "#functions/meta/handler.ts";
import { composeMindMap } from "#functions/mindmap/handler.ts";
import { composeQa } from "#functions/qa/handler.ts";
import { composeQuiz } from "#functions/quiz/handler.ts";
import { composeSessionChat, composeSessionRecords } from "#functions/sessions/compose.ts";
import { composeStudyPlan } from "#functions/studyplan/handler.ts";
import { composeSummarize } from "#functions/summarize/handler.ts";
import { composeUsage } from "#functions/usage/handler.ts";
import { type Config, loadConfig } from "#shared/config/config.ts";
import type { PlatformAdapters } from "#shared/engine/adapters.ts";
import { localAdapters } from "#shared/engine/local-adapters.ts";
import { modelClientsOnFirstUse } from "#shared/engine/model-clients-on-demand.ts";
import type { App } from "#shared/http/app.ts";
import { TEST_SECRET } from "#test/support/engine.ts";

type Composition = (config: Config, adapters: PlatformAdapters) => Promise<App>;

/** A feature's function, or its buffered one where its streaming routes have a function of their own. */
const compositions: Record<string, Composition> = {
  meta: composeMeta,
  mindmap: composeMindMap,
  flashcards: composeFlashcards,
  sessions: composeSessionRecords,
  chat: composeChat,
  documents: composeDocuments,
  qa: composeQa,
  summarize: composeSummarize,
  quiz: composeQuiz,
  studyplan: composeStudyPlan,
  usage: composeUsage,
};

/** The streaming functions composed apart from their feature's buffered one. */
const streamingCompositions: Record<string, Composition> = {
  sessions: (config, adapters) => composeSessionChat(config, adapters, modelClientsOnFirstUse),
};

/** The "METHOD /path" keys an app serves, in the route tables' notation. */
function servedRoutes(app: App): string[] {
  return [
    ...new Set(
      app.routes
        .filter((route) => route.method !== "ALL")
        .map((route) => `${route.method} ${route.path.replace(/:([A-Za-z_]+)/g, "{$1}")}`),
    ),
  ].sort();
}

let dir: string;
let config: Config;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "collabry-compositions-"));
  config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: "SILENT", JWT_SECRET_KEY: TEST_SECRET });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("feature function compositions", () => {
  it("exist for every feature of the route tables", () => {
    // Assess
    expect(Object.keys(compositions).sort()).toEqual(featureRoutes.map((table) => table.feature).sort());
  });

  it("serve exactly their feature's route table", async () => {
    for (const table of featureRoutes) {
      // Prepare
      const compose = compositions[table.feature];
      if (!compose) throw new Error(`no composition for ${table.feature}`);

      // Act
      const served = servedRoutes(await compose(config, localAdapters));
      const streamingCompose = streamingCompositions[table.feature];
      const streamingServed = streamingCompose ? servedRoutes(await streamingCompose(config, localAdapters)) : [];

      // Assess: a feature's function serves its table; where the streaming routes have a function
      // of their own, each serves its half.
      const key = (route: { method: string; path: string }) => `${route.method} ${route.path}`;
      if (streamingCompose) {
        expect(served, table.feature).toEqual(
          table.routes
            .filter((route) => !route.streaming)
            .map(key)
            .sort(),
        );
        expect(streamingServed, `${table.feature} streaming`).toEqual(
          table.routes
            .filter((route) => route.streaming)
            .map(key)
            .sort(),
        );
      } else {
        expect(served, table.feature).toEqual(table.routes.map(key).sort());
      }
    }
  });

  it("build meta's app without reaching the store, so /health can report it down", async () => {
    // Prepare: a store that never answers.
    const unreachable: PlatformAdapters["openStore"] = async (cfg) => {
      const store = await localAdapters.openStore(cfg);
      return { ...store, ping: () => new Promise<void>(() => {}), ensureIndexes: () => new Promise<void>(() => {}) };
    };

    // Act
    const app = await composeMeta(config, { openStore: unreachable });
    const response = await app.request("/health");
    const body = (await response.json()) as { status: string; components: Record<string, { status: string }> };

    // Assess
    expect(response.status).toBe(503);
    expect(body.status).toBe("unhealthy");
    expect(body.components.mongodb?.status).toBe("down");
    expect(body.components.llm?.status).toBe("offline");
  });
});
