import { describe, expect, it } from "vitest";
import { createLocalEmbedder } from "#shared/embeddings/local.ts";
import {
  buildShard,
  EmbeddingMismatchError,
  loadShard,
  type ShardMeta,
  searchShards,
  shardVector,
} from "#shared/vector-index/shard.ts";

function unit(values: number[]): Float32Array {
  const norm = Math.hypot(...values);
  return Float32Array.from(values.map((value) => value / norm));
}

const meta = (count: number, overrides: Partial<ShardMeta> = {}): ShardMeta => ({
  model: "test-model",
  dimensions: 3,
  count,
  version: 1,
  ...overrides,
});

describe("FAISS shards", () => {
  it("round-trips through a buffer and returns hits best first", () => {
    // Prepare
    const vectors = [unit([1, 0, 0]), unit([0, 1, 0]), unit([1, 1, 0]), unit([0, 0, 1])];
    const buffer = buildShard(vectors, 3);

    // Act
    const shard = loadShard(Buffer.from(buffer), meta(4));
    const hits = shard.search(unit([1, 0.2, 0]), 3, "test-model");

    // Assess
    expect(hits.map((hit) => hit.index)).toEqual([0, 2, 1]);
    expect(hits[0]?.score).toBeCloseTo(0.98, 2);
    expect(hits[0]?.score ?? 0).toBeGreaterThan(hits[1]?.score ?? 1);
  });

  it("reads one chunk's stored vector from the serialised shard, at any byte offset", () => {
    // Prepare: the same shard at an aligned and an unaligned offset of a larger buffer.
    const vectors = [unit([1, 0, 0]), unit([0, 1, 0]), unit([1, 1, 0])];
    const shard = buildShard(vectors, 3);
    const padded = Buffer.alloc(shard.byteLength + 3);
    shard.copy(padded, 3);

    // Act
    const read = [0, 1, 2].map((index) => shardVector(shard, 3, index));
    const unaligned = shardVector(padded.subarray(3), 3, 2);

    // Assess
    expect(read).toEqual(vectors);
    expect(unaligned).toEqual(vectors[2]);
    expect(shardVector(shard, 3, 3)).toBeUndefined();
    expect(shardVector(shard, 3, -1)).toBeUndefined();
    expect(() => shardVector(shard, 4, 0)).toThrow(EmbeddingMismatchError);
  });

  it("returns every vector when k exceeds the shard size, and nothing from an empty shard", () => {
    // Prepare
    const shard = loadShard(buildShard([unit([1, 0, 0]), unit([0, 1, 0])], 3), meta(2));
    const empty = loadShard(buildShard([], 3), meta(0));

    // Act
    const hits = shard.search(unit([1, 0, 0]), 10);
    const none = empty.search(unit([1, 0, 0]), 10);

    // Assess
    expect(hits.map((hit) => hit.index)).toEqual([0, 1]);
    expect(none).toEqual([]);
  });

  it("refuses a query from another model or with other dimensions", () => {
    // Prepare
    const shard = loadShard(buildShard([unit([1, 0, 0])], 3), meta(1));

    // Act
    const otherModel = () => shard.search(unit([1, 0, 0]), 1, "other-model");
    const otherDimensions = () => shard.search(unit([1, 0, 0, 0]), 1, "test-model");

    // Assess
    expect(otherModel).toThrow(EmbeddingMismatchError);
    expect(otherDimensions).toThrow(EmbeddingMismatchError);
  });

  it("refuses to build from vectors of the wrong size and to load with wrong metadata", () => {
    // Prepare
    const buffer = buildShard([unit([1, 0, 0])], 3);

    // Act
    const wrongVector = () => buildShard([unit([1, 0])], 3);
    const wrongDimensions = () => loadShard(buffer, meta(1, { dimensions: 4 }));
    const wrongCount = () => loadShard(buffer, meta(2));

    // Assess
    expect(wrongVector).toThrow(EmbeddingMismatchError);
    expect(wrongDimensions).toThrow(EmbeddingMismatchError);
    expect(wrongCount).toThrow("holds 1 vectors");
  });

  it("merges hits of several shards by score and keeps the top k", () => {
    // Prepare
    const biology = loadShard(buildShard([unit([1, 0, 0]), unit([0, 0, 1])], 3), meta(2));
    const history = loadShard(buildShard([unit([0.9, 0.1, 0]), unit([0, 1, 0])], 3), meta(2));

    // Act
    const hits = searchShards(
      [
        { key: "biology", shard: biology },
        { key: "history", shard: history },
      ],
      unit([1, 0, 0]),
      3,
      "test-model",
    );

    // Assess
    expect(hits.map((hit) => [hit.key, hit.index])).toEqual([
      ["biology", 0],
      ["history", 0],
      ["biology", 1],
    ]);
  });

  it("builds and searches a shard of local embeddings in many batches", async () => {
    // Prepare
    const embedder = createLocalEmbedder();
    const texts = Array.from({ length: 1200 }, (_, i) => `chunk number ${i} about topic ${i % 37}`);
    texts[777] = "Chloroplasts capture light energy for photosynthesis.";
    const vectors = await embedder.embed(texts);
    const shardMeta = { model: embedder.model, dimensions: embedder.dimensions, count: texts.length, version: 3 };

    // Act
    const shard = loadShard(buildShard(vectors, embedder.dimensions), shardMeta);
    const [query] = await embedder.embed(["How do chloroplasts use light for photosynthesis?"]);
    const hits = shard.search(query ?? new Float32Array(), 5, embedder.model);

    // Assess
    expect(shard.meta.count).toBe(1200);
    expect(hits[0]?.index).toBe(777);
  });
});
