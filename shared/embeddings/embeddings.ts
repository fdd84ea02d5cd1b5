// Embeddings port: turns chunk texts and questions into L2-normalised vectors, so that inner
// product equals cosine similarity in the FAISS shards. Adapters: local.ts (no model download,
// the embedded default) and openai-compatible.ts (Ollama /v1, OpenAI, vLLM…).

export interface Embedder {
  /** Identifies the vector space; shards built with one model are never searched with another. */
  readonly model: string;
  readonly dimensions: number;
  /** One L2-normalised vector per text, in order. */
  embed(texts: string[]): Promise<Float32Array[]>;
  /**
   * How far hybrid retrieval trusts this embedder's ranking next to BM25's (default 1). A hashed
   * bag of words is a noisy sketch of the same lexical evidence BM25 scores exactly, so it counts less.
   */
  readonly fusionWeight?: number;
}

/** The embedding service failed or answered with something that is not a usable vector. */
export class EmbeddingError extends Error {
  override readonly name = "EmbeddingError";
}

/** Scales a vector to unit length in place; a zero vector stays zero (it matches nothing). */
export function normalizeInPlace(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const value of vector) sum += value * value;
  if (sum === 0) return vector;
  const scale = 1 / Math.sqrt(sum);
  for (let i = 0; i < vector.length; i++) vector[i] = (vector[i] ?? 0) * scale;
  return vector;
}

/** Inner product; for unit vectors (every embedder here returns them) it is the cosine similarity. */
export function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] ?? 0) * (b[i] ?? 0);
  return sum;
}
