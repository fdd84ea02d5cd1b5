import { OpenAIEmbeddings } from "@langchain/openai";
import { afterEach, describe, expect, it } from "vitest";
import type { ChatChunk, ChatModel, ChatTurn } from "#shared/llm/chat-model.ts";
import { ModelTimeoutError, ModelUnavailableError } from "#shared/llm/errors.ts";
import {
  createOpenAICompatibleChatModel,
  type OpenAICompatibleChatModelOptions,
} from "#shared/llm/openai-compatible.ts";
import { createThreadedChatModel, type ThreadedChatModel } from "#shared/llm/threaded.ts";
import { STUB_EMBEDDING_DIMENSIONS, type StubLlm, startStubLlm, stubEmbedding } from "#test/support/stub-llm.ts";

const SECRET_KEY = "sk-test-super-secret-key-123";

const stubs: StubLlm[] = [];

async function stub(options?: Parameters<typeof startStubLlm>[0]): Promise<StubLlm> {
  const started = await startStubLlm(options);
  stubs.push(started);
  return started;
}

const threads: ThreadedChatModel[] = [];

afterEach(async () => {
  await Promise.all(threads.splice(0).map((model) => model.close()));
  await Promise.all(stubs.splice(0).map((started) => started.close()));
});

/** The same client on the caller's thread (Lambda) and in a worker thread (local runtime): one contract. */
const PLACEMENTS: Array<[string, (options: OpenAICompatibleChatModelOptions) => Promise<ChatModel>]> = [
  ["on the caller's thread", async (options) => createOpenAICompatibleChatModel(options)],
  [
    "in a worker thread",
    // Ready first, as the engine has it: timings below are the model's, not the thread's start.
    async (options) => {
      const model = createThreadedChatModel(options);
      threads.push(model);
      await model.ready();
      return model;
    },
  ],
];

const question: ChatTurn[] = [{ role: "user", content: "What is photosynthesis?" }];

function chatRequests(server: StubLlm) {
  return server.requests.filter((request) => request.path === "/v1/chat/completions");
}

describe.each(PLACEMENTS)("OpenAI-compatible chat model, %s", (_placement, createModel) => {
  it("streams tokens in order, the first one long before the endpoint finishes", async () => {
    // Prepare
    const tokens = ["Light ", "becomes ", "sugar ", "in ", "leaves."];
    const server = await stub({ tokens, firstTokenDelayMs: 20, tokenDelayMs: 100 });
    const model = await createModel({
      baseUrl: server.baseUrl,
      model: "stub-model",
      timeoutMs: 5_000,
      maxRetries: 0,
    });
    const arrivals: Array<{ text: string; at: number }> = [];

    // Act
    for await (const chunk of model.stream({ messages: question })) {
      if (chunk.text.length > 0) arrivals.push({ text: chunk.text, at: Date.now() });
    }

    // Assess
    expect(arrivals.map((arrival) => arrival.text)).toEqual(tokens);
    const finishedAt = chatRequests(server)[0]?.finishedAt ?? 0;
    const firstAt = arrivals[0]?.at ?? Number.POSITIVE_INFINITY;
    // The stub writes its last token 400 ms after its first: a buffered answer would arrive after it.
    expect(firstAt).toBeLessThan(finishedAt - 250);
    const body = chatRequests(server)[0]?.body;
    expect(body).toMatchObject({ model: "stub-model", stream: true, stream_options: { include_usage: true } });
  });

  it("reports the endpoint's token usage on the last chunk", async () => {
    // Prepare
    const server = await stub({ tokens: ["Mitosis ", "splits ", "cells."] });
    const model = await createModel({
      baseUrl: server.baseUrl,
      model: "stub-model",
      timeoutMs: 5_000,
      maxRetries: 0,
    });

    // Act
    const chunks: ChatChunk[] = [];
    for await (const chunk of model.stream({ messages: question })) chunks.push(chunk);

    // Assess
    const last = chunks.at(-1);
    expect(last?.usage).toEqual({ inputTokens: Math.ceil("What is photosynthesis?".length / 4), outputTokens: 3 });
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === undefined)).toBe(true);
    expect(chunks.map((chunk) => chunk.text).join("")).toBe("Mitosis splits cells.");
  });

  it("completes a whole answer with usage, sending stream: false", async () => {
    // Prepare
    const server = await stub({ tokens: ["The ", "answer ", "is ", "42."] });
    const model = await createModel({
      baseUrl: server.baseUrl,
      model: "stub-model",
      timeoutMs: 5_000,
      maxRetries: 0,
    });

    // Act
    const result = await model.complete({ messages: question, temperature: 0.2, maxTokens: 64 });

    // Assess
    expect(result.text).toBe("The answer is 42.");
    expect(result.usage).toEqual({ inputTokens: 6, outputTokens: 4 });
    expect(chatRequests(server)[0]?.body).toMatchObject({ stream: false, temperature: 0.2, max_tokens: 64 });
  });

  it("sends the system prompt and history exactly as given, with the key in the Authorization header", async () => {
    // Prepare
    const server = await stub();
    const model = await createModel({
      baseUrl: server.baseUrl,
      model: "stub-model",
      apiKey: SECRET_KEY,
      timeoutMs: 5_000,
      maxRetries: 0,
    });
    const messages: ChatTurn[] = [
      { role: "system", content: "You are a study copilot. {not a template}" },
      { role: "user", content: "Define osmosis." },
      { role: "assistant", content: "Osmosis is the diffusion of water across a membrane." },
      { role: "user", content: "Give an example." },
    ];

    // Act
    await model.complete({ messages });

    // Assess
    const request = chatRequests(server)[0];
    expect(request?.body).toMatchObject({ messages });
    expect(request?.headers.authorization).toBe(`Bearer ${SECRET_KEY}`);
  });

  it("turns an endpoint 500 into ModelUnavailableError without leaking the key or the URL", async () => {
    // Prepare
    const server = await stub({ failWith: 500 });
    const model = await createModel({
      baseUrl: server.baseUrl,
      model: "stub-model",
      apiKey: SECRET_KEY,
      timeoutMs: 5_000,
      maxRetries: 0,
    });

    // Act
    const streamed = collect(model.stream({ messages: question }));
    const completed = model.complete({ messages: question });

    // Assess
    for (const outcome of [streamed, completed]) {
      const error = await outcome.then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(error).toBeInstanceOf(ModelUnavailableError);
      const message = error instanceof Error ? error.message : "";
      expect(message).toContain("HTTP 500");
      expect(message).not.toContain(SECRET_KEY);
      expect(message).not.toContain("127.0.0.1");
      expect(error).toMatchObject({ statusCode: 502, expose: true });
    }
  });

  it("retries a failed request before streaming starts, then streams the answer", async () => {
    // Prepare
    const server = await stub({ tokens: ["Second ", "try."], failWith: 503, failCount: 1 });
    const model = await createModel({
      baseUrl: server.baseUrl,
      model: "stub-model",
      timeoutMs: 5_000,
      maxRetries: 2,
    });

    // Act
    const chunks = await collect(model.stream({ messages: question }));

    // Assess
    expect(chunks.map((chunk) => chunk.text).join("")).toBe("Second try.");
    expect(chatRequests(server)).toHaveLength(2);
  });

  it("gives up after maxRetries and does not retry a client error", async () => {
    // Prepare
    const failing = await stub({ failWith: 502 });
    const refusing = await stub({ failWith: 401 });
    const options = { model: "stub-model", timeoutMs: 5_000, maxRetries: 2 };

    // Act
    const failure = await collect(
      (await createModel({ ...options, baseUrl: failing.baseUrl })).stream({ messages: question }),
    ).catch((error: unknown) => error);
    const refusal = await (await createModel({ ...options, baseUrl: refusing.baseUrl, apiKey: SECRET_KEY }))
      .complete({ messages: question })
      .catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(ModelUnavailableError);
    expect(chatRequests(failing)).toHaveLength(3);
    expect(refusal).toBeInstanceOf(ModelUnavailableError);
    expect(refusal instanceof Error ? refusal.message : "").not.toContain(SECRET_KEY);
    expect(chatRequests(refusing)).toHaveLength(1);
  });

  it("never re-sends a request once a token has reached the caller", async () => {
    // Prepare: the stream stalls after its first token, longer than the allowed silence.
    const server = await stub({ tokens: ["Partial ", "answer"], tokenDelayMs: 1_000 });
    const model = await createModel({
      baseUrl: server.baseUrl,
      model: "stub-model",
      timeoutMs: 150,
      maxRetries: 3,
    });
    const received: string[] = [];

    // Act
    const error = await (async () => {
      for await (const chunk of model.stream({ messages: question })) received.push(chunk.text);
    })().catch((reason: unknown) => reason);

    // Assess
    expect(received).toEqual(["Partial "]);
    expect(error).toBeInstanceOf(ModelTimeoutError);
    expect(chatRequests(server)).toHaveLength(1);
  });

  it("throws ModelTimeoutError when the first token does not come in time", async () => {
    // Prepare
    const server = await stub({ firstTokenDelayMs: 2_000 });
    const model = await createModel({
      baseUrl: server.baseUrl,
      model: "stub-model",
      timeoutMs: 5_000,
      firstTokenTimeoutMs: 150,
      maxRetries: 0,
    });
    const started = Date.now();

    // Act
    const error = await collect(model.stream({ messages: question })).catch((reason: unknown) => reason);

    // Assess
    expect(error).toBeInstanceOf(ModelTimeoutError);
    expect(error).toMatchObject({ statusCode: 504, expose: true });
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("throws ModelTimeoutError when the answer stalls after its first token, keeping what was streamed", async () => {
    // Prepare
    const server = await stub({ tokens: ["Osmosis ", "moves ", "water."], firstTokenDelayMs: 10, tokenDelayMs: 2_000 });
    const model = await createModel({
      baseUrl: server.baseUrl,
      model: "stub-model",
      timeoutMs: 150,
      firstTokenTimeoutMs: 5_000,
      maxRetries: 2,
    });
    const received: string[] = [];
    const started = Date.now();

    // Act
    const error = await (async () => {
      for await (const chunk of model.stream({ messages: question })) received.push(chunk.text);
    })().catch((reason: unknown) => reason);

    // Assess
    expect(error).toBeInstanceOf(ModelTimeoutError);
    expect(error instanceof Error ? error.message : "").toContain("stalled");
    expect(received).toEqual(["Osmosis "]);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(chatRequests(server)).toHaveLength(1);
  });

  it("does not count the time the caller holds a token against the silence timeout", async () => {
    // Prepare
    const tokens = ["Cells ", "divide ", "by ", "mitosis."];
    const server = await stub({ tokens, firstTokenDelayMs: 10, tokenDelayMs: 20 });
    const model = await createModel({
      baseUrl: server.baseUrl,
      model: "stub-model",
      timeoutMs: 100,
      maxRetries: 0,
    });
    const received: string[] = [];
    // One answer first, so that the 100 ms deadline measures the stub's silence, not the first
    // request's connection and code warm-up on a busy machine.
    for await (const _ of model.stream({ messages: question })) {
      // drained
    }

    // Act
    for await (const chunk of model.stream({ messages: question })) {
      if (chunk.text === "") continue;
      received.push(chunk.text);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }

    // Assess: every token, in order (the model thread hands over tokens that arrived meanwhile as one chunk).
    expect(received.join("")).toBe(tokens.join(""));
    expect(received[0]).toBe(tokens[0]);
  });

  it("throws ModelTimeoutError when a whole answer takes longer than timeoutMs", async () => {
    // Prepare
    const server = await stub({ firstTokenDelayMs: 2_000 });
    const model = await createModel({
      baseUrl: server.baseUrl,
      model: "stub-model",
      timeoutMs: 150,
      maxRetries: 2,
    });

    // Act
    const error = await model.complete({ messages: question }).catch((reason: unknown) => reason);

    // Assess
    expect(error).toBeInstanceOf(ModelTimeoutError);
    expect(chatRequests(server)).toHaveLength(1);
  });

  it("stops streaming and closes the request when the caller aborts", async () => {
    // Prepare
    const tokens = Array.from({ length: 20 }, (_, index) => `word${index} `);
    const server = await stub({ tokens, tokenDelayMs: 50 });
    const model = await createModel({
      baseUrl: server.baseUrl,
      model: "stub-model",
      timeoutMs: 5_000,
      maxRetries: 2,
    });
    const controller = new AbortController();
    const received: string[] = [];

    // Act
    const error = await (async () => {
      for await (const chunk of model.stream({ messages: question, signal: controller.signal })) {
        received.push(chunk.text);
        if (received.length === 2) controller.abort();
      }
    })().catch((reason: unknown) => reason);
    await waitFor(() => chatRequests(server)[0]?.closedByClient === true);

    // Assess
    expect(error).toBeInstanceOf(Error);
    expect(error instanceof Error ? error.name : "").toBe("AbortError");
    expect(received).toEqual(["word0 ", "word1 "]);
    const request = chatRequests(server)[0];
    expect(request?.closedByClient).toBe(true);
    expect(request?.tokensWritten).toBeLessThan(tokens.length);
    expect(chatRequests(server)).toHaveLength(1);
  });

  it("closes the request when the caller stops iterating early", async () => {
    // Prepare
    const tokens = Array.from({ length: 20 }, (_, index) => `word${index} `);
    const server = await stub({ tokens, tokenDelayMs: 50 });
    const model = await createModel({
      baseUrl: server.baseUrl,
      model: "stub-model",
      timeoutMs: 5_000,
      maxRetries: 0,
    });

    // Act
    for await (const chunk of model.stream({ messages: question })) {
      if (chunk.text.length > 0) break;
    }
    await waitFor(() => chatRequests(server)[0]?.closedByClient === true);

    // Assess
    expect(chatRequests(server)[0]?.tokensWritten).toBeLessThan(tokens.length);
  });

  it("reports health ok from /models with the key, and down with a short detail", async () => {
    // Prepare
    const server = await stub();
    const broken = await stub({ failWith: 503 });
    const closed = await startStubLlm();
    const closedUrl = closed.baseUrl;
    await closed.close();
    const options = { model: "stub-model", apiKey: SECRET_KEY, timeoutMs: 5_000, maxRetries: 0 };

    // Act
    const ok = await (await createModel({ ...options, baseUrl: `${server.baseUrl}/` })).health();
    const unhealthy = await (await createModel({ ...options, baseUrl: broken.baseUrl })).health();
    const down = await (await createModel({ ...options, baseUrl: closedUrl })).health();

    // Assess
    expect(ok).toEqual({ status: "ok" });
    expect(server.requests[0]).toMatchObject({ method: "GET", path: "/v1/models" });
    expect(server.requests[0]?.headers.authorization).toBe(`Bearer ${SECRET_KEY}`);
    expect(unhealthy).toEqual({ status: "down", detail: "the model endpoint answered HTTP 503" });
    expect(down.status).toBe("down");
    expect(down.detail).toBeTruthy();
    expect(down.detail).not.toContain(SECRET_KEY);
  });

  it("describes itself with its model and normalised base URL", async () => {
    // Prepare
    const options = { baseUrl: "http://gpu-host:11434/v1//", model: "llama3.1", timeoutMs: 1_000, maxRetries: 0 };

    // Act
    const model = await createModel(options);

    // Assess
    expect(model.info).toEqual({ kind: "openai-compatible", model: "llama3.1", baseUrl: "http://gpu-host:11434/v1" });
  });
});

describe("stub OpenAI-compatible server", () => {
  it("serves deterministic 384-dimension embeddings as floats or base64", async () => {
    // Prepare
    const server = await stub();
    // Without encodingFormat the OpenAI SDK asks for base64 and decodes it itself.
    const embedder = (encodingFormat?: "float") =>
      new OpenAIEmbeddings({
        model: "nomic-embed-text",
        apiKey: "placeholder",
        configuration: { baseURL: server.baseUrl },
        ...(encodingFormat === undefined ? {} : { encodingFormat }),
      });

    // Act
    const asFloats = await embedder("float").embedDocuments(["cell membrane", "osmosis"]);
    const asBase64 = await embedder().embedQuery("cell membrane");

    // Assess
    expect(asFloats).toHaveLength(2);
    expect(asFloats[0]).toHaveLength(STUB_EMBEDDING_DIMENSIONS);
    expect(asFloats[0]).toEqual(Array.from(stubEmbedding("cell membrane")));
    expect(asFloats[0]).not.toEqual(asFloats[1]);
    expect(asBase64).toEqual(asFloats[0]);
    expect(Math.hypot(...(asFloats[0] ?? []))).toBeCloseTo(1, 5);
    expect(server.requests.map((request) => request.body)).toMatchObject([
      { encoding_format: "float" },
      { encoding_format: "base64" },
    ]);
  });
});

async function collect(stream: AsyncIterable<ChatChunk>): Promise<ChatChunk[]> {
  const chunks: ChatChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

async function waitFor(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}
