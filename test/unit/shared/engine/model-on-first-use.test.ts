import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "#shared/config/config.ts";
import type { ModelClientFactories } from "#shared/engine/model.ts";
import { onDemandModelClients } from "#shared/engine/model-clients-on-demand.ts";
import { chatModelOnFirstUse, embedderOnFirstUse } from "#shared/engine/model-on-first-use.ts";
import { circuitStateOf } from "#shared/llm/resilient.ts";
import { STUB_EMBEDDING_DIMENSIONS, type StubLlm, startStubLlm } from "#test/support/stub-llm.ts";

let stub: StubLlm;

beforeAll(async () => {
  stub = await startStubLlm({ tokens: ["Chlorophyll ", "absorbs ", "light."] });
});

afterAll(async () => {
  await stub.close();
});

/** The on-demand factories, counting how often each client's code is asked for. */
function countingClients(): ModelClientFactories & { loads: { chat: number; embedder: number } } {
  const loads = { chat: 0, embedder: 0 };
  return {
    loads,
    chat: () => {
      loads.chat += 1;
      return onDemandModelClients.chat();
    },
    embedder: () => {
      loads.embedder += 1;
      return onDemandModelClients.embedder();
    },
  };
}

function config() {
  return loadConfig({
    RUNTIME: "local",
    JWT_SECRET_KEY: "model-on-first-use-test-secret",
    LLM_BASE_URL: stub.baseUrl,
    LLM_MODEL: "stub-model",
    EMBEDDINGS_MODEL: "stub-embeddings",
    LLM_MAX_RETRIES: "0",
  });
}

describe("model clients built on first use", () => {
  it("answers through the endpoint, with its identity before the first call and its breaker after", async () => {
    // Prepare
    const clients = countingClients();
    const model = chatModelOnFirstUse(config(), clients);
    const before = { info: model.info, circuit: circuitStateOf(model), loads: clients.loads.chat };

    // Act
    const answer = await model.complete({ messages: [{ role: "user", content: "What absorbs light?" }] });
    let streamed = "";
    for await (const chunk of model.stream({ messages: [{ role: "user", content: "And then?" }] })) {
      streamed += chunk.text;
    }

    // Assess
    expect(before.loads).toBe(0);
    expect(clients.loads.chat).toBe(1);
    expect(before.info).toEqual({ kind: "openai-compatible", model: "stub-model", baseUrl: stub.baseUrl });
    expect(before.circuit).toBeUndefined();
    expect(answer.text).toBe("Chlorophyll absorbs light.");
    expect(streamed).toBe("Chlorophyll absorbs light.");
    expect(circuitStateOf(model)).toBe("closed");
  });

  it("answers offline, with no client at all, when no endpoint is configured", async () => {
    // Prepare
    const model = chatModelOnFirstUse(
      loadConfig({ RUNTIME: "local", JWT_SECRET_KEY: "model-on-first-use-test-secret" }),
      onDemandModelClients,
    );

    // Act
    const answer = await model.complete({ messages: [{ role: "user", content: "Summarise photosynthesis." }] });

    // Assess
    expect(model.info.kind).toBe("offline");
    expect(answer.text.length).toBeGreaterThan(0);
  });

  it("embeds through the endpoint and learns the dimensions from its first answer", async () => {
    // Prepare
    const clients = countingClients();
    const embedder = await embedderOnFirstUse(config(), clients);
    const dimensionsBefore = embedder.dimensions;
    const loadsBefore = clients.loads.embedder;

    // Act
    const [vector] = await embedder.embed(["The Calvin cycle fixes carbon dioxide."]);

    // Assess
    expect(embedder.model).toBe("stub-embeddings");
    expect(dimensionsBefore).toBe(0);
    expect(loadsBefore).toBe(0);
    expect(clients.loads.embedder).toBe(1);
    expect(vector).toHaveLength(STUB_EMBEDDING_DIMENSIONS);
    expect(embedder.dimensions).toBe(STUB_EMBEDDING_DIMENSIONS);
  });
});
