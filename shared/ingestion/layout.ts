// Where an ingested document's index lives in the blob store, apart from ingest.ts so that readers
// of shards (retrieval, study material) do not pull the document parsers into their bundles.

/** A stored chunk, as written beside its shard (`chunks.json`); position = vector id. */
export interface StoredChunk {
  chunk_id: string;
  page: number;
  start: number;
  end: number;
  heading_path: string[];
  text: string;
}

const SHARD_FILE = "index.faiss";
const CHUNKS_FILE = "chunks.json";

/** Files of a published index version. */
export function shardFiles(indexKey: string): { shard: string; chunks: string } {
  return { shard: `${indexKey}${SHARD_FILE}`, chunks: `${indexKey}${CHUNKS_FILE}` };
}
