import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { EmbeddingError } from "#shared/embeddings/embeddings.ts";
import { createOpenAICompatibleEmbedder } from "#shared/embeddings/openai-compatible.ts";

interface StubRequest {
  path: string;
  body: { model?: string; input?: string[]; encoding_format?: string };
}

type Reply = (input: string[]) => number[][];

let server: Server | undefined;

/** Starts an OpenAI-compatible /v1/embeddings stub on an ephemeral loopback port. */
async function startStub(reply: Reply): Promise<{ baseUrl: string; requests: StubRequest[] }> {
  const requests: StubRequest[] = [];
  server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let raw = "";
    request.on("data", (chunk: Buffer) => {
      raw += chunk.toString("utf8");
    });
    request.on("end", () => {
      const body = JSON.parse(raw) as StubRequest["body"];
      requests.push({ path: request.url ?? "", body });
      const input = body.input ?? [];
      const data = reply(input).map((embedding, index) => ({ object: "embedding", index, embedding }));
      response.writeHead(200, { "content-type": "application/json" });
      response.end(
        JSON.stringify({ object: "list", model: body.model, data, usage: { prompt_tokens: 1, total_tokens: 1 } }),
      );
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { baseUrl: `http://127.0.0.1:${port}/v1`, requests };
}

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

describe("createOpenAICompatibleEmbedder", () => {
  it("asks for float vectors, batches requests and returns normalised vectors", async () => {
    // Prepare
    const stub = await startStub((input) => input.map((text) => [text.length, 0, 0]));
    const embedder = createOpenAICompatibleEmbedder({ baseUrl: stub.baseUrl, model: "nomic-embed-text", batchSize: 2 });

    // Act
    const vectors = await embedder.embed(["a", "bb", "ccc"]);

    // Assess
    expect(stub.requests.map((request) => request.path)).toEqual(["/v1/embeddings", "/v1/embeddings"]);
    expect(stub.requests.map((request) => request.body.encoding_format)).toEqual(["float", "float"]);
    expect(stub.requests.map((request) => request.body.input)).toEqual([["a", "bb"], ["ccc"]]);
    expect(vectors.map((vector) => Array.from(vector))).toEqual([
      [1, 0, 0],
      [1, 0, 0],
      [1, 0, 0],
    ]);
    expect(embedder.dimensions).toBe(3);
    expect(embedder.model).toBe("nomic-embed-text");
  });

  it("normalises to unit length", async () => {
    // Prepare
    const stub = await startStub((input) => input.map(() => [3, 4]));
    const embedder = createOpenAICompatibleEmbedder({ baseUrl: stub.baseUrl, model: "m" });

    // Act
    const [vector] = await embedder.embed(["x"]);

    // Assess
    expect(Array.from(vector ?? [])).toEqual([expect.closeTo(0.6, 6), expect.closeTo(0.8, 6)]);
  });

  it("rejects empty vectors with an EmbeddingError", async () => {
    // Prepare
    const stub = await startStub((input) => input.map(() => []));
    const embedder = createOpenAICompatibleEmbedder({ baseUrl: stub.baseUrl, model: "m" });

    // Act
    const result = embedder.embed(["x"]);

    // Assess
    await expect(result).rejects.toBeInstanceOf(EmbeddingError);
    await expect(result).rejects.toThrow("returned an empty embedding");
  });

  it("rejects vectors of another size than configured", async () => {
    // Prepare
    const stub = await startStub((input) => input.map(() => [1, 2, 3]));
    const embedder = createOpenAICompatibleEmbedder({ baseUrl: stub.baseUrl, model: "m", dimensions: 4 });

    // Act
    const result = embedder.embed(["x"]);

    // Assess
    await expect(result).rejects.toThrow("returned 3 dimensions, expected 4");
  });

  it("wraps an unreachable server in an EmbeddingError", async () => {
    // Prepare
    const stub = await startStub(() => []);
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    server = undefined;
    const embedder = createOpenAICompatibleEmbedder({ baseUrl: stub.baseUrl, model: "m", maxRetries: 0 });

    // Act
    const result = embedder.embed(["x"]);

    // Assess
    await expect(result).rejects.toBeInstanceOf(EmbeddingError);
  });
});
