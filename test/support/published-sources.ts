// Documents as the retriever finds them after ingestion: an embedded store, filesystem blobs and
// sources published the way ingestion publishes them (shard + chunks under a version key, then the
// record), without extracting or chunking anything.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BlobStore } from "#shared/blobs/blobs.ts";
import { createFilesystemBlobStore } from "#shared/blobs/filesystem.ts";
import { createDocumentRecords, type DocumentRecords, indexPrefix } from "#shared/documents/records.ts";
import type { Embedder } from "#shared/embeddings/embeddings.ts";
import { type StoredChunk, shardFiles } from "#shared/ingestion/layout.ts";
import { openEmbeddedStore } from "#shared/store/embedded.ts";
import type { DocumentStore } from "#shared/store/store.ts";
import { buildShard } from "#shared/vector-index/shard.ts";

export interface DocumentsTestEnv {
  dir: string;
  store: DocumentStore;
  records: DocumentRecords;
  blobs: BlobStore;
  close(): Promise<void>;
}

/** An embedded store and filesystem blobs in a fresh temp directory, removed by `close`. */
export async function openDocumentsTestEnv(name: string): Promise<DocumentsTestEnv> {
  const dir = await mkdtemp(join(tmpdir(), `collabry-${name}-`));
  const store = await openEmbeddedStore({ dir: join(dir, "store") });
  return {
    dir,
    store,
    records: createDocumentRecords(store),
    blobs: createFilesystemBlobStore({ root: join(dir, "blobs"), signingSecret: `${name}-test-signing-secret` }),
    async close() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Publishes one source of `texts` (one chunk each, page 1) at `version`, reusing the source's
 * record when it exists; returns the index key.
 */
export async function publishSource(
  env: Pick<DocumentsTestEnv, "records" | "blobs">,
  embedder: Embedder,
  userId: string,
  sourceId: string,
  texts: string[],
  version = 1,
): Promise<string> {
  const { records, blobs } = env;
  const existing = (await records.list(userId, { sourceIds: [sourceId] }))[0];
  const record =
    existing ?? (await records.create(userId, { filename: `${sourceId}.md`, source_id: sourceId, origin: "upload" }));
  const indexKey = `${indexPrefix(userId, sourceId)}${record._id}/v${version}/`;
  const stored: StoredChunk[] = texts.map((text, i) => ({
    chunk_id: `${sourceId}:${i}`,
    page: 1,
    start: 0,
    end: text.length,
    heading_path: [],
    text,
  }));
  const files = shardFiles(indexKey);
  await blobs.put(files.chunks, new TextEncoder().encode(JSON.stringify(stored)));
  await blobs.put(files.shard, buildShard(await embedder.embed(texts), embedder.dimensions));
  await records.update(userId, record._id, {
    status: "ready",
    chunk_count: texts.length,
    embedding_model: embedder.model,
    embedding_dims: embedder.dimensions,
    index_key: indexKey,
    index_version: version,
  });
  return indexKey;
}
