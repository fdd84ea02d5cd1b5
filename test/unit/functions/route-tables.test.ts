// The route tables (data for CDK and the local runtime) and the served app must list the same routes.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ALL_FEATURES, buildApp } from "#functions/app.ts";
import { featureRoutes } from "#functions/index.ts";
import { loadConfig } from "#shared/config/config.ts";
import { createEngine, type Engine } from "#shared/engine.ts";
import { ENGINE_VERSION } from "#shared/version.ts";

let engine: Engine;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "collabry-routes-"));
  engine = await createEngine(loadConfig({ DATA_DIR: dir, LOG_LEVEL: "SILENT" }), { jwtSecret: "x".repeat(32) });
});

afterAll(async () => {
  await engine.close();
  await rm(dir, { recursive: true, force: true });
});

function served(features: Parameters<typeof buildApp>[1]): string[] {
  const app = buildApp(engine, features);
  const routes = app.routes
    .filter((route) => route.method !== "ALL")
    .map((route) => `${route.method} ${route.path.replace(/:([A-Za-z_]+)/g, "{$1}")}`);
  return [...new Set(routes)].sort();
}

describe("route tables", () => {
  it("lists exactly the routes the local runtime serves", () => {
    // Act
    const fromTables = featureRoutes.flatMap((feature) => feature.routes.map((r) => `${r.method} ${r.path}`)).sort();

    // Assess
    expect(served(ALL_FEATURES)).toEqual(fromTables);
  });

  it("lets each feature's Lambda app serve its own table and nothing else", () => {
    for (const table of featureRoutes) {
      // Act
      const routes = served([table.feature as (typeof ALL_FEATURES)[number]]);

      // Assess
      expect(routes).toEqual(table.routes.map((r) => `${r.method} ${r.path}`).sort());
    }
  });

  it("has no duplicate method and path across features", () => {
    // Act
    const all = featureRoutes.flatMap((feature) => feature.routes.map((r) => `${r.method} ${r.path}`));

    // Assess
    expect(new Set(all).size).toBe(all.length);
  });

  it("marks exactly the SSE routes (paths ending in /stream) as streaming", () => {
    // Act
    const routes = featureRoutes.flatMap((feature) => feature.routes);

    // Assess
    for (const route of routes)
      expect(route.streaming, `${route.method} ${route.path}`).toBe(route.path.endsWith("/stream"));
    expect(routes.filter((route) => route.streaming).length).toBeGreaterThanOrEqual(5);
  });

  it("keeps the reported version in step with package.json", async () => {
    // Act
    const { readFile } = await import("node:fs/promises");
    const manifest = JSON.parse(await readFile("package.json", "utf8")) as { version: string };

    // Assess
    expect(ENGINE_VERSION).toBe(manifest.version);
  });
});
