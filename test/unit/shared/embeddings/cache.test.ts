import { describe, expect, it } from "vitest";
import { createLruCache, withEmbeddingCache } from "#shared/embeddings/cache.ts";
import type { Embedder } from "#shared/embeddings/embeddings.ts";
import { createLocalEmbedder } from "#shared/embeddings/local.ts";

/** A fake embedder that records every batch it is asked to embed. */
function recordingEmbedder(model = "fake-model") {
  const calls: string[][] = [];
  const embedder: Embedder = {
    model,
    dimensions: 2,
    embed: async (texts) => {
      calls.push([...texts]);
      return texts.map((text) => Float32Array.from([text.length, 1]));
    },
  };
  return { embedder, calls };
}

describe("withEmbeddingCache", () => {
  it("embeds identical text once, across and within calls, in one batch per call", async () => {
    // Prepare
    const { embedder, calls } = recordingEmbedder();
    const cached = withEmbeddingCache(embedder, new Map());

    // Act
    const first = await cached.embed(["alpha", "beta", "alpha"]);
    const second = await cached.embed(["beta", "gamma"]);

    // Assess
    expect(calls).toEqual([["alpha", "beta"], ["gamma"]]);
    expect(first.map((vector) => vector[0])).toEqual([5, 4, 5]);
    expect(second.map((vector) => vector[0])).toEqual([4, 5]);
  });

  it("keeps the wrapped embedder's fusion weight, so hybrid retrieval weighs its ranking the same", () => {
    // Prepare
    const { embedder } = recordingEmbedder();

    // Act
    const weighted = withEmbeddingCache({ ...embedder, fusionWeight: 0.5 }, new Map());
    const plain = withEmbeddingCache(embedder, new Map());

    // Assess
    expect(weighted.fusionWeight).toBe(0.5);
    expect(plain.fusionWeight).toBeUndefined();
    expect(withEmbeddingCache(createLocalEmbedder()).fusionWeight).toBeLessThan(1);
  });

  it("keeps vectors of different models apart in a shared store", async () => {
    // Prepare
    const store = new Map<string, Float32Array>();
    const a = recordingEmbedder("model-a");
    const b = recordingEmbedder("model-b");

    // Act
    await withEmbeddingCache(a.embedder, store).embed(["same text"]);
    await withEmbeddingCache(b.embedder, store).embed(["same text"]);

    // Assess
    expect(a.calls).toHaveLength(1);
    expect(b.calls).toHaveLength(1);
    expect(store.size).toBe(2);
  });

  it("still returns every vector when a batch is larger than the LRU capacity", async () => {
    // Prepare
    const { embedder, calls } = recordingEmbedder();
    const lru = createLruCache(2);
    const cached = withEmbeddingCache(embedder, lru);

    // Act
    const vectors = await cached.embed(["a", "bb", "ccc", "dddd"]);
    await cached.embed(["dddd"]);
    await cached.embed(["a"]);

    // Assess
    expect(vectors.map((vector) => vector[0])).toEqual([1, 2, 3, 4]);
    expect(lru.size).toBe(2);
    expect(calls).toEqual([["a", "bb", "ccc", "dddd"], ["a"]]);
  });
});
