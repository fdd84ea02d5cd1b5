import { describe, expect, it } from "vitest";
import { annParamsFor, buildAnnIndex, IVF_FROM, loadAnnIndex } from "#shared/vector-index/ann.ts";
import { buildShard, EmbeddingMismatchError, faiss, shardVectors } from "#shared/vector-index/shard.ts";
import { gaussian, seededRandom } from "../../../../bench/stats.ts";

const DIMS = 32;

function normalise(row: Float32Array): Float32Array {
  const norm = Math.hypot(...row) || 1;
  for (let i = 0; i < row.length; i++) row[i] = (row[i] ?? 0) / norm;
  return row;
}

/** Unit vectors around 24 topic centroids, like embeddings of a library of courses. */
function clustered(count: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  const normal = gaussian(random);
  const centroids = Array.from({ length: 24 }, () => normalise(Float32Array.from({ length: DIMS }, () => normal())));
  const all = new Float32Array(count * DIMS);
  for (let row = 0; row < count; row++) {
    const centre = centroids[Math.floor(random() * centroids.length)] ?? new Float32Array(DIMS);
    const target = all.subarray(row * DIMS, (row + 1) * DIMS);
    for (let i = 0; i < DIMS; i++) target[i] = (centre[i] ?? 0) + (0.6 / Math.sqrt(DIMS)) * normal();
    normalise(target);
  }
  return all;
}

describe("library vector index", () => {
  it("finds at least 95% of the exact top 10 with an IVF index over a clustered library", () => {
    // Prepare
    const count = IVF_FROM + 5_000;
    // Held-out rows of the same distribution are the questions.
    const drawn = clustered(count + 40, 11);
    const vectors = drawn.subarray(0, count * DIMS);
    const queries = drawn.subarray(count * DIMS);
    const exact = new (faiss().IndexFlatIP)(DIMS);
    exact.addFloat32(vectors);

    // Act
    const { bytes, params } = buildAnnIndex(vectors, DIMS);
    const index = loadAnnIndex(bytes, { dims: DIMS, count, params });
    let found = 0;
    let exactAgrees = true;
    for (let q = 0; q < 40; q++) {
      const query = queries.subarray(q * DIMS, (q + 1) * DIMS);
      const truth = [...exact.searchFloat32(query, 10).labels];
      const approximate = new Set(index.search(query, 10).map((hit) => hit.position));
      found += truth.filter((label) => approximate.has(label)).length;
      const full = index.search(query, 10, { exact: true }).map((hit) => hit.position);
      exactAgrees &&= full.every((label, i) => label === truth[i]);
    }

    // Assess
    expect(params.kind).toBe("ivf");
    expect(params.nprobe).toBeLessThan(params.nlist);
    expect(found / 400).toBeGreaterThanOrEqual(0.95);
    expect(exactAgrees).toBe(true);
  });

  it("gives back the vector stored at a position, for an IVF and for an exact index", () => {
    for (const count of [IVF_FROM + 1_000, 500]) {
      // Prepare
      const vectors = clustered(count, 5);
      const { bytes, params } = buildAnnIndex(vectors, DIMS);
      const index = loadAnnIndex(bytes, { dims: DIMS, count, params });

      // Act
      const positions = [0, 1, Math.floor(count / 2), count - 1];
      const read = positions.map((position) => index.vector(position));

      // Assess: IVF-Flat and Flat keep the vectors exactly.
      positions.forEach((position, i) => {
        expect(read[i], `${params.kind} ${position}`).toEqual(vectors.slice(position * DIMS, (position + 1) * DIMS));
      });
      expect(index.vector(count)).toBeUndefined();
      expect(index.vector(-1)).toBeUndefined();
    }
  });

  it("is exact and untrained below the IVF size, and refuses a manifest that disagrees", () => {
    // Prepare
    const vectors = clustered(500, 3);

    // Act
    const { bytes, params } = buildAnnIndex(vectors, DIMS);
    const index = loadAnnIndex(bytes, { dims: DIMS, count: 500, params });
    const hits = index.search(vectors.subarray(7 * DIMS, 8 * DIMS), 3);

    // Assess
    expect(params).toEqual(annParamsFor(500));
    expect(params.kind).toBe("flat");
    expect(hits[0]?.position).toBe(7);
    expect(hits[0]?.score).toBeCloseTo(1, 4);
    expect(() => loadAnnIndex(bytes, { dims: DIMS, count: 499, params })).toThrow(/holds 500/);
    expect(() => loadAnnIndex(bytes, { dims: 16, count: 500, params })).toThrow(EmbeddingMismatchError);
    expect(() => index.search(new Float32Array(16), 3)).toThrow(EmbeddingMismatchError);
  });
});

describe("faiss-node build additions", () => {
  it("searches with a Float32Array like the Array search, sets search parameters, and rejects unknown ones", () => {
    // Prepare
    const vectors = clustered(3_000, 5);
    const flat = new (faiss().IndexFlatIP)(DIMS);
    flat.addFloat32(vectors);
    const query = vectors.subarray(42 * DIMS, 43 * DIMS);
    const legacy = flat as unknown as { search(query: number[], k: number): { labels: number[]; distances: number[] } };
    const ivf = faiss().Index.fromFactory(DIMS, "IVF16,Flat", 0);
    ivf.trainFloat32(vectors);
    ivf.addFloat32(vectors);

    // Act
    const typed = flat.searchFloat32(query, 5);
    const array = legacy.search(Array.from(query), 5);
    ivf.setSearchParameter("nprobe", 16);
    const allCells = ivf.searchFloat32(query, 5);

    // Assess
    expect([...typed.labels]).toEqual(array.labels);
    typed.distances.forEach((distance, i) => {
      expect(distance).toBeCloseTo(array.distances[i] ?? 0, 4);
    });
    expect([...allCells.labels]).toEqual(array.labels);
    expect(() => ivf.setSearchParameter("noSuchParameter", 1)).toThrow();
    expect(() => flat.searchFloat32(new Float32Array(DIMS + 1), 1)).toThrow(/multiple of the dimension/);
    expect(() => flat.searchFloat32(query, 3_001)).toThrow(/k must be/);
  });

  it("reads a shard's vectors in place from its serialised bytes", () => {
    // Prepare
    const rows = [0, 1, 2].map((row) => clustered(3, 9).subarray(row * DIMS, (row + 1) * DIMS));

    // Act
    const vectors = shardVectors(buildShard(rows, DIMS), DIMS);

    // Assess
    expect(vectors.length).toBe(3 * DIMS);
    expect([...vectors.subarray(DIMS, 2 * DIMS)]).toEqual([...(rows[1] ?? [])]);
    expect(() => shardVectors(buildShard(rows, DIMS), DIMS + 1)).toThrow(EmbeddingMismatchError);
  });
});
