// The compacted index of a big library: every ready source of one user in one vector index (exact
// or IVF, shared/vector-index/ann.ts), one chunk table and one prebuilt BM25 index, stored as blobs
// beside the per-source shards. Loading it costs four blob reads instead of two per source, and no
// tokenising: a 1000-source library answers its first query in well under two seconds instead of
// fifteen. It is a cache of the per-source shards, never the source of truth: the manifest names
// the exact source index versions it holds, and retrieval uses a part only while the document
// records still point at that version (a deleted or replaced source is never returned).
//
// Layout: indexes/{user}/@library/current.json points at indexes/{user}/@library/{id}/ holding
// manifest.json, vectors.faiss, chunks.bin and lexical.bin. "@" is always escaped in a source id's
// key segment (encodeURIComponent), so no source can collide with "@library".
import { createHash } from "node:crypto";
import type { BlobStore } from "../blobs/blobs.ts";
import type { SearchableRecord } from "../documents/records.ts";
import { analyzeTerms } from "../embeddings/local.ts";
import type { StoredChunk } from "../ingestion/layout.ts";
import { type AnnIndex, type AnnParams, buildAnnIndex, loadAnnIndex } from "../vector-index/ann.ts";
import { EmbeddingMismatchError, partAt, shardVectors } from "../vector-index/shard.ts";
import {
  buildLexicalIndex,
  type LexicalIndex,
  type MergedLexicalIndex,
  mergeLexicalIndexes,
  type Postings,
} from "./lexical.ts";

/** Bumped when a file's layout changes: a library of another format is rebuilt, never misread. */
export const LIBRARY_FORMAT = 1;

export interface LibraryPart {
  /** The published version of the source's index this part was built from. */
  index_key: string;
  source_id: string;
  document_id: string;
  count: number;
}

export interface LibraryManifest {
  format: number;
  id: string;
  user_prefix: string;
  model: string;
  dims: number;
  /** Fingerprint of the tokenizer the BM25 postings were built with. */
  analyzer: string;
  created_at: string;
  total: number;
  parts: LibraryPart[];
  ann: AnnParams;
}

/** A library index loaded in memory. */
export interface Library {
  readonly manifest: LibraryManifest;
  /** Start of each part in library order (parts[i] holds positions offsets[i] … offsets[i+1]-1). */
  readonly offsets: Int32Array;
  readonly partByKey: ReadonlyMap<string, number>;
  readonly vectors: AnnIndex;
  readonly lexical: MergedLexicalIndex;
  /** The part holding a library position. */
  partOf(position: number): number;
  /** The stored chunk at a library position, decoded on demand. */
  chunk(position: number): StoredChunk | undefined;
  /** Bytes held in memory (vectors, chunk table, postings). */
  readonly bytes: number;
}

/** Error in a stored library that must not be used (wrong format, user, model or tokenizer). */
export class LibraryMismatchError extends Error {
  override readonly name = "LibraryMismatchError";
}

const FILES = { manifest: "manifest.json", vectors: "vectors.faiss", chunks: "chunks.bin", lexical: "lexical.bin" };

export function libraryPrefix(userId: string): string {
  return `indexes/${encodeURIComponent(userId)}/@library/`;
}

function pointerKey(userId: string): string {
  return `${libraryPrefix(userId)}current.json`;
}

// Text that exercises what a tokenizer decides (case, accents, digits, punctuation, stop words,
// plurals): its terms change whenever the analyzer changes, so stored postings can be checked.
const ANALYZER_PROBE =
  "The Mitochondria's électron-transport chains, in 1953: ATP synthases were studied; Krebs cycles and H2O.";

/** A short hash of the current tokenizer's behaviour. */
export function analyzerFingerprint(): string {
  return createHash("sha256")
    .update(JSON.stringify(analyzeTerms(ANALYZER_PROBE)))
    .digest("hex")
    .slice(0, 16);
}

/** The library id names the exact set of source versions it holds. */
export function libraryId(indexKeys: readonly string[]): string {
  return createHash("sha256")
    .update([...indexKeys].sort().join("\n"))
    .digest("hex")
    .slice(0, 24);
}

// ----- chunk table: u32 magic, u32 count, u32 offsets[count + 1], then one JSON object per chunk -----

const CHUNKS_MAGIC = 0x314b4843; // "CHK1"

function encodeChunkTable(encoded: Uint8Array[]): Uint8Array {
  const header = 8 + 4 * (encoded.length + 1);
  const size = encoded.reduce((sum, bytes) => sum + bytes.byteLength, header);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, CHUNKS_MAGIC, true);
  view.setUint32(4, encoded.length, true);
  let at = header;
  encoded.forEach((bytes, i) => {
    view.setUint32(8 + 4 * i, at, true);
    out.set(bytes, at);
    at += bytes.byteLength;
  });
  view.setUint32(8 + 4 * encoded.length, at, true);
  return out;
}

function chunkTableReader(bytes: Uint8Array, count: number): (position: number) => StoredChunk | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 8 || view.getUint32(0, true) !== CHUNKS_MAGIC || view.getUint32(4, true) !== count) {
    throw new LibraryMismatchError("chunk table does not match the manifest");
  }
  const decoder = new TextDecoder();
  return (position) => {
    if (!Number.isInteger(position) || position < 0 || position >= count) return undefined;
    const start = view.getUint32(8 + 4 * position, true);
    const end = view.getUint32(12 + 4 * position, true);
    return JSON.parse(decoder.decode(bytes.subarray(start, end))) as StoredChunk;
  };
}

// ----- BM25 postings: header, u32 lengths[total], u32 term starts[terms + 1], i32 chunks[n], u16 tfs[n]
// (padded to 4 bytes), then the terms joined by "\n" in UTF-8 -----

const LEXICAL_MAGIC = 0x31584c43; // "CLX1"
const LEXICAL_HEADER = 24;

function encodeLexical(index: MergedLexicalIndex, terms: string[]): Uint8Array {
  const lists = terms.map((term) => index.postings.get(term) ?? { chunks: new Int32Array(0), tfs: new Uint16Array(0) });
  const postings = lists.reduce((sum, list) => sum + list.chunks.length, 0);
  if (terms.some((term) => term.includes("\n"))) throw new Error("a lexical term contains a newline");
  const termBytes = new TextEncoder().encode(terms.join("\n"));
  const total = index.lengths.length;
  const tfBytes = Math.ceil((postings * 2) / 4) * 4;
  const size = LEXICAL_HEADER + 4 * total + 4 * (terms.length + 1) + 4 * postings + tfBytes + termBytes.byteLength;
  const buffer = new ArrayBuffer(size);
  const view = new DataView(buffer);
  view.setUint32(0, LEXICAL_MAGIC, true);
  view.setUint32(4, total, true);
  view.setUint32(8, terms.length, true);
  view.setUint32(12, postings, true);
  view.setFloat64(16, index.averageLength, true);
  let at = LEXICAL_HEADER;
  new Uint32Array(buffer, at, total).set(index.lengths);
  at += 4 * total;
  const starts = new Uint32Array(buffer, at, terms.length + 1);
  at += 4 * (terms.length + 1);
  const chunks = new Int32Array(buffer, at, postings);
  at += 4 * postings;
  const tfs = new Uint16Array(buffer, at, postings);
  at += tfBytes;
  let filled = 0;
  lists.forEach((list, i) => {
    starts[i] = filled;
    chunks.set(list.chunks, filled);
    tfs.set(list.tfs, filled);
    filled += list.chunks.length;
  });
  starts[terms.length] = filled;
  new Uint8Array(buffer, at).set(termBytes);
  return new Uint8Array(buffer);
}

/** Views into the stored postings: nothing is copied or tokenised at load time. */
function decodeLexical(bytes: Uint8Array, total: number, offsets: number[]): MergedLexicalIndex {
  // Typed views need 4-byte alignment within their buffer.
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const { buffer, byteOffset } = aligned;
  const view = new DataView(buffer, byteOffset, aligned.byteLength);
  if (aligned.byteLength < LEXICAL_HEADER || view.getUint32(0, true) !== LEXICAL_MAGIC) {
    throw new LibraryMismatchError("lexical index is not in the expected format");
  }
  if (view.getUint32(4, true) !== total) throw new LibraryMismatchError("lexical index does not match the manifest");
  const termCount = view.getUint32(8, true);
  const postingsCount = view.getUint32(12, true);
  const averageLength = view.getFloat64(16, true);
  let at = byteOffset + LEXICAL_HEADER;
  const lengths = new Uint32Array(buffer, at, total);
  at += 4 * total;
  const starts = new Uint32Array(buffer, at, termCount + 1);
  at += 4 * (termCount + 1);
  const chunks = new Int32Array(buffer, at, postingsCount);
  at += 4 * postingsCount;
  const tfs = new Uint16Array(buffer, at, postingsCount);
  at += Math.ceil((postingsCount * 2) / 4) * 4;
  const terms = new TextDecoder().decode(new Uint8Array(buffer, at, byteOffset + aligned.byteLength - at));
  const termIndex = new Map<string, number>();
  let from = 0;
  for (let i = 0; i < termCount; i++) {
    const to = terms.indexOf("\n", from);
    termIndex.set(to < 0 ? terms.slice(from) : terms.slice(from, to), i);
    from = to + 1;
  }
  return {
    postings: {
      get(term: string): Postings | undefined {
        const i = termIndex.get(term);
        if (i === undefined) return undefined;
        const start = starts[i] ?? 0;
        const end = starts[i + 1] ?? start;
        return { chunks: chunks.subarray(start, end), tfs: tfs.subarray(start, end) };
      },
    },
    lengths,
    averageLength,
    offsets,
  };
}

/** What a library is built from: one ready source, its published shard bytes and its chunks. */
export interface LibrarySource {
  record: SearchableRecord;
  shard: Uint8Array;
  chunks: StoredChunk[];
}

/** Text a chunk is found by lexically; headings count as words of their chunks (as in per-source search). */
export function lexicalText(chunk: StoredChunk): string {
  return `${chunk.heading_path.join(" ")} ${chunk.text}`;
}

/**
 * Builds a library from the user's sources (in the given order) and publishes it: files first,
 * the pointer last, so a reader sees either the previous library or the whole new one. Returns
 * the manifest. Older libraries of the user are deleted after the pointer moves.
 */
export async function writeLibrary(
  blobs: BlobStore,
  userId: string,
  space: { model: string; dims: number },
  sources: AsyncIterable<LibrarySource> | Iterable<LibrarySource>,
  expectedTotal: number,
): Promise<LibraryManifest> {
  const { model, dims } = space;
  const vectors = new Float32Array(expectedTotal * dims);
  const parts: LibraryPart[] = [];
  const lexicalParts: LexicalIndex[] = [];
  const encoder = new TextEncoder();
  const encodedChunks: Uint8Array[] = [];
  let total = 0;
  for await (const source of sources) {
    const { record } = source;
    if (!record.index_key) throw new Error(`source ${record.source_id} has no published index`);
    if (record.embedding_model !== model || record.embedding_dims !== dims) {
      throw new EmbeddingMismatchError(`source ${record.source_id} was indexed with ${record.embedding_model}`);
    }
    const rows = shardVectors(source.shard, dims);
    const count = rows.length / dims;
    if (count !== source.chunks.length) {
      throw new Error(`source ${record.source_id}: shard holds ${count} vectors but ${source.chunks.length} chunks`);
    }
    if (total + count > expectedTotal) throw new Error("the library's sources hold more chunks than announced");
    vectors.set(rows, total * dims);
    lexicalParts.push(buildLexicalIndex(source.chunks.map(lexicalText)));
    for (const chunk of source.chunks) encodedChunks.push(encoder.encode(JSON.stringify(chunk)));
    parts.push({ index_key: record.index_key, source_id: record.source_id, document_id: record._id, count });
    total += count;
  }
  const ann = buildAnnIndex(vectors.subarray(0, total * dims), dims);
  const merged = mergeLexicalIndexes(lexicalParts);
  const terms = [...(merged.postings as Map<string, Postings>).keys()];
  const id = libraryId(parts.map((part) => part.index_key));
  const manifest: LibraryManifest = {
    format: LIBRARY_FORMAT,
    id,
    user_prefix: `indexes/${encodeURIComponent(userId)}/`,
    model,
    dims,
    analyzer: analyzerFingerprint(),
    created_at: new Date().toISOString(),
    total,
    parts,
    ann: ann.params,
  };
  const folder = `${libraryPrefix(userId)}${id}/`;
  await blobs.put(`${folder}${FILES.vectors}`, ann.bytes, { contentType: "application/octet-stream" });
  await blobs.put(`${folder}${FILES.chunks}`, encodeChunkTable(encodedChunks), {
    contentType: "application/octet-stream",
  });
  await blobs.put(`${folder}${FILES.lexical}`, encodeLexical(merged, terms), {
    contentType: "application/octet-stream",
  });
  await blobs.put(`${folder}${FILES.manifest}`, encoder.encode(JSON.stringify(manifest)), {
    contentType: "application/json",
  });
  await blobs.put(pointerKey(userId), encoder.encode(JSON.stringify({ format: LIBRARY_FORMAT, id })), {
    contentType: "application/json",
  });
  for (const key of await blobs.list(libraryPrefix(userId))) {
    if (!key.startsWith(folder) && key !== pointerKey(userId)) await blobs.delete(key);
  }
  return manifest;
}

/** The id of the user's published library, or undefined when there is none. */
export async function currentLibraryId(blobs: BlobStore, userId: string): Promise<string | undefined> {
  const bytes = await blobs.get(pointerKey(userId));
  if (!bytes) return undefined;
  const pointer = JSON.parse(new TextDecoder().decode(bytes)) as { format?: unknown; id?: unknown };
  if (pointer.format !== LIBRARY_FORMAT || typeof pointer.id !== "string") return undefined;
  return pointer.id;
}

/** The manifest of the user's published library if it is usable as it stands (format, user, space, tokenizer). */
export async function currentLibraryManifest(
  blobs: BlobStore,
  userId: string,
  space: { model: string; dims: number },
): Promise<LibraryManifest | undefined> {
  const id = await currentLibraryId(blobs, userId);
  if (!id) return undefined;
  const bytes = await blobs.get(`${libraryPrefix(userId)}${id}/${FILES.manifest}`);
  if (!bytes) return undefined;
  const manifest = JSON.parse(new TextDecoder().decode(bytes)) as LibraryManifest;
  const usable =
    manifest.format === LIBRARY_FORMAT &&
    manifest.id === id &&
    manifest.user_prefix === `indexes/${encodeURIComponent(userId)}/` &&
    manifest.model === space.model &&
    manifest.dims === space.dims &&
    manifest.analyzer === analyzerFingerprint();
  return usable ? manifest : undefined;
}

/**
 * Loads the user's library `id`, checking that it belongs to the user and was built in the
 * current vector space and with the current tokenizer and format (else LibraryMismatchError).
 */
export async function readLibrary(
  blobs: BlobStore,
  userId: string,
  id: string,
  space: { model: string; dims: number },
): Promise<Library> {
  const folder = `${libraryPrefix(userId)}${id}/`;
  const manifestBytes = await blobs.get(`${folder}${FILES.manifest}`);
  if (!manifestBytes) throw new LibraryMismatchError(`library ${id} has no manifest`);
  const manifest = JSON.parse(new TextDecoder().decode(manifestBytes)) as LibraryManifest;
  const userPrefix = `indexes/${encodeURIComponent(userId)}/`;
  if (manifest.format !== LIBRARY_FORMAT) throw new LibraryMismatchError(`library format ${manifest.format}`);
  if (manifest.id !== id || manifest.user_prefix !== userPrefix) {
    throw new LibraryMismatchError("library manifest does not belong to this user and id");
  }
  if (manifest.parts.some((part) => !part.index_key.startsWith(userPrefix))) {
    throw new LibraryMismatchError("library holds a part outside the user's indexes");
  }
  if (manifest.model !== space.model || manifest.dims !== space.dims) {
    throw new LibraryMismatchError(`library built with ${manifest.model}/${manifest.dims}`);
  }
  if (manifest.analyzer !== analyzerFingerprint())
    throw new LibraryMismatchError("library built with another tokenizer");
  const [vectorBytes, chunkBytes, lexicalBytes] = await Promise.all([
    blobs.get(`${folder}${FILES.vectors}`),
    blobs.get(`${folder}${FILES.chunks}`),
    blobs.get(`${folder}${FILES.lexical}`),
  ]);
  if (!vectorBytes || !chunkBytes || !lexicalBytes) throw new LibraryMismatchError(`library ${id} is incomplete`);
  const offsets = new Int32Array(manifest.parts.length + 1);
  manifest.parts.forEach((part, i) => {
    offsets[i + 1] = (offsets[i] ?? 0) + part.count;
  });
  if (offsets[manifest.parts.length] !== manifest.total) throw new LibraryMismatchError("library parts do not add up");
  const vectors = loadAnnIndex(Buffer.from(vectorBytes.buffer, vectorBytes.byteOffset, vectorBytes.byteLength), {
    dims: manifest.dims,
    count: manifest.total,
    params: manifest.ann,
  });
  const lexical = decodeLexical(lexicalBytes, manifest.total, [...offsets.subarray(0, manifest.parts.length)]);
  const chunk = chunkTableReader(chunkBytes, manifest.total);
  const partByKey = new Map(manifest.parts.map((part, i) => [part.index_key, i]));
  return {
    manifest,
    offsets,
    partByKey,
    vectors,
    lexical,
    chunk,
    partOf: (position) => partAt(offsets, position),
    // The vectors live in native memory (FAISS keeps its own copy); chunks and postings in buffers.
    bytes: manifest.total * manifest.dims * 4 + chunkBytes.byteLength + lexicalBytes.byteLength,
  };
}

/** Deletes every library of the user (after a source is deleted: its text must not linger). */
export async function deleteLibraries(blobs: BlobStore, userId: string): Promise<void> {
  await blobs.deletePrefix(libraryPrefix(userId));
}
