import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { BlobStore } from "#shared/blobs/blobs.ts";
import type { DocumentRecords } from "#shared/documents/records.ts";
import type { Embedder } from "#shared/embeddings/embeddings.ts";
import { createLocalEmbedder } from "#shared/embeddings/local.ts";
import { createLogger } from "#shared/observability/logger.ts";
import {
  currentLibraryId,
  LIBRARY_FORMAT,
  LibraryMismatchError,
  libraryPrefix,
  readLibrary,
} from "#shared/rag/library.ts";
import { createRetriever, LIBRARY_FROM_SOURCES, storedIndexForgetter } from "#shared/rag/retrieve.ts";
import { type DocumentsTestEnv, openDocumentsTestEnv, publishSource } from "#test/support/published-sources.ts";

const embedder = createLocalEmbedder();
const logger = createLogger({ service: "test", level: "SILENT" });
const TOPICS = ["photosynthesis", "mitochondria", "glaciers", "volcanoes", "tariffs", "sonnets", "enzymes", "orbits"];

let env: DocumentsTestEnv;
let records: DocumentRecords;
let blobs: BlobStore;
/** Keys read from the blob store, to tell a library load from per-source loads. */
let reads: string[];

function countingBlobs(inner: BlobStore): BlobStore {
  return {
    ...inner,
    get: (key) => {
      reads.push(key);
      return inner.get(key);
    },
  };
}

function chunkTexts(source: number): string[] {
  const topic = TOPICS[source % TOPICS.length] ?? "notes";
  return [0, 1, 2].map(
    (chunk) => `Lecture ${source} part ${chunk} on ${topic}: marker${source}x${chunk} explains ${topic} in detail.`,
  );
}

function publish(userId: string, sourceId: string, texts: string[], version = 1): Promise<string> {
  return publishSource({ records, blobs }, embedder, userId, sourceId, texts, version);
}

function retriever(blobStore: BlobStore = blobs) {
  return createRetriever({ records, blobs: blobStore, embedder, logger });
}

const SOURCES = LIBRARY_FROM_SOURCES + 6;

beforeEach(async () => {
  env = await openDocumentsTestEnv("library");
  ({ records, blobs } = env);
  reads = [];
  for (let source = 0; source < SOURCES; source++) {
    await publish("alice", `s${source}`, chunkTexts(source));
  }
  await publish("bob", "bob-notes", ["Bob's private zebra migration notes marker999x0."]);
});

afterEach(async () => {
  await env.close();
});

describe("library index of a big library", () => {
  it("returns the same passages as the per-source shards, and a fresh process loads it without any shard", async () => {
    // Prepare: the first query of a library without index is served per source and starts a build.
    const first = retriever();
    const query = chunkTexts(17)[1] ?? "";
    const perSource = await first.retrieve({ userId: "alice" }, query, 5);
    await first.settled();

    // Act
    const cold = retriever(countingBlobs(blobs));
    const viaLibrary = await cold.retrieve({ userId: "alice" }, query, 5);

    // Assess
    expect(await currentLibraryId(blobs, "alice")).toBeDefined();
    expect(viaLibrary.passages[0]?.chunk_id).toBe("s17:1");
    expect(viaLibrary.passages.map((passage) => [passage.chunk_id, passage.score])).toEqual(
      perSource.passages.map((passage) => [passage.chunk_id, passage.score]),
    );
    expect(viaLibrary.searched).toBe(SOURCES);
    expect(reads.some((key) => key.endsWith("index.faiss") || key.endsWith("chunks.json"))).toBe(false);
    expect(reads.some((key) => key.startsWith(libraryPrefix("alice")))).toBe(true);
  });

  it("scores BM25-only hits with the vectors the library index stores, embedding only the question", async () => {
    // Prepare: the question's vector is an unrelated text's, so the vector list misses the chunks
    // BM25 finds and they reach the answer as BM25-only hits. The per-source answer first (no
    // library yet, none built), then the library's.
    const query = "Which lecture explains glaciers and volcanoes in detail?";
    const embedded: string[][] = [];
    const skewed: Embedder = {
      ...embedder,
      embed: (texts) => {
        embedded.push([...texts]);
        return embedder.embed(texts.map((text) => (text === query ? "zebra migration across the savanna" : text)));
      },
    };
    const perSource = await createRetriever({
      records,
      blobs,
      embedder: skewed,
      logger,
      libraryBuilds: "off",
    }).retrieve({ userId: "alice" }, query, 10);
    await retriever().compact("alice");
    embedded.length = 0;

    // Act
    const viaLibrary = await createRetriever({ records, blobs, embedder: skewed, logger }).retrieve(
      { userId: "alice" },
      query,
      10,
    );

    // Assess: glacier and volcano lectures found, the same passages and scores as the per-source
    // shards give, and one embedding call (the question).
    expect(viaLibrary.searched).toBe(SOURCES);
    expect(viaLibrary.passages.some((passage) => /glaciers|volcanoes/.test(passage.quote))).toBe(true);
    expect(embedded).toEqual([[query]]);
    expect(viaLibrary.passages.map((passage) => [passage.chunk_id, passage.score])).toEqual(
      perSource.passages.map((passage) => [passage.chunk_id, passage.score]),
    );
  });

  it("never returns another user's sources, nor a deleted source, even from a library built before the deletion", async () => {
    // Prepare
    const search = retriever();
    await search.compact("alice");
    const warm = await search.retrieve({ userId: "alice" }, chunkTexts(5)[0] ?? "", 5);
    expect(warm.passages[0]?.chunk_id).toBe("s5:0");
    const [deleted] = await records.list("alice", { sourceIds: ["s5"] });
    if (!deleted) throw new Error("fixture missing");

    // Act: the record goes; this instance keeps its loaded library (as another instance would).
    await records.remove("alice", deleted._id);
    const afterDelete = await search.retrieve({ userId: "alice" }, chunkTexts(5)[0] ?? "", 20);
    const foreign = await search.retrieve({ userId: "alice" }, "Bob's private zebra migration notes marker999x0", 20);
    const bobs = await retriever().retrieve({ userId: "bob" }, chunkTexts(17)[1] ?? "", 20);

    // Assess
    expect(afterDelete.passages.length).toBeGreaterThan(0);
    expect(afterDelete.passages.some((passage) => passage.source_id === "s5")).toBe(false);
    expect(foreign.passages.every((passage) => passage.source_id.startsWith("s"))).toBe(true);
    expect(foreign.passages.some((passage) => passage.quote.includes("zebra"))).toBe(false);
    expect(bobs.passages.map((passage) => passage.source_id)).toEqual(["bob-notes"]);
  });

  it("deletes the stored library when a source is forgotten, and rebuilds it without that source", async () => {
    // Prepare
    const search = retriever();
    await search.compact("alice");
    const [deleted] = await records.list("alice", { sourceIds: ["s9"] });
    if (!deleted?.index_key) throw new Error("fixture missing");

    // Act
    await records.remove("alice", deleted._id);
    await search.forget(deleted.index_key);
    const gone = await blobs.list(libraryPrefix("alice"));
    const rebuilt = await search.compact("alice");

    // Assess
    expect(gone).toEqual([]);
    expect(rebuilt?.parts).toHaveLength(SOURCES - 1);
    expect(rebuilt?.parts.some((part) => part.source_id === "s9")).toBe(false);
  });

  it("is deleted with a removed source by a process that never retrieves (the documents and sessions functions)", async () => {
    // Prepare
    await retriever().compact("alice");
    const [deleted] = await records.list("alice", { sourceIds: ["s9"] });
    if (!deleted?.index_key) throw new Error("fixture missing");

    // Act
    await records.remove("alice", deleted._id);
    await storedIndexForgetter(blobs).forget(deleted.index_key);

    // Assess: alice's library is gone; bob's index is untouched.
    expect(await blobs.list(libraryPrefix("alice"))).toEqual([]);
    expect(await currentLibraryId(blobs, "alice")).toBeUndefined();
    expect((await retriever().retrieve({ userId: "bob" }, "zebra migration", 1)).passages).toHaveLength(1);
  });

  it("serves a source re-published after the build from its new shard, never from the stale part", async () => {
    // Prepare
    const search = retriever();
    await search.compact("alice");
    await search.retrieve({ userId: "alice" }, "warm up", 5);

    // Act: s3 gets a new version with new text; the library still holds v1.
    await publish("alice", "s3", ["Revised lecture on comets marker3x9 replaces the old one."], 2);
    const fresh = await search.retrieve({ userId: "alice" }, "marker3x9 comets", 5);
    const stale = await search.retrieve({ userId: "alice" }, chunkTexts(3)[0] ?? "", 20);

    // Assess
    expect(fresh.passages[0]?.chunk_id).toBe("s3:0");
    expect(fresh.passages[0]?.quote).toContain("comets");
    expect(stale.passages.some((passage) => passage.quote.includes("marker3x0"))).toBe(false);
  });

  it("narrows a big scope to the given sources within the library", async () => {
    // Prepare
    const search = retriever();
    await search.compact("alice");
    const allowed = Array.from({ length: LIBRARY_FROM_SOURCES }, (_, i) => `s${i + 6}`);

    // Act
    const scoped = await search.retrieve({ userId: "alice", sourceIds: allowed }, chunkTexts(2)[1] ?? "", 20);

    // Assess
    expect(scoped.searched).toBe(LIBRARY_FROM_SOURCES);
    expect(scoped.passages.length).toBeGreaterThan(0);
    expect(scoped.passages.every((passage) => allowed.includes(passage.source_id))).toBe(true);
  });

  it("is rebuilt after publishing only when missing or lacking a tenth of the sources", async () => {
    // Prepare
    const worker = createRetriever({ records, blobs, embedder, logger, libraryBuilds: "off" });

    // Act
    const first = await worker.refreshLibrary("alice");
    const unchanged = await worker.refreshLibrary("alice");
    for (let source = SOURCES; source < SOURCES + 7; source++) await publish("alice", `s${source}`, chunkTexts(source));
    const fewNew = await worker.refreshLibrary("alice");
    await publish("alice", `s${SOURCES + 7}`, chunkTexts(SOURCES + 7));
    const enoughNew = await worker.refreshLibrary("alice");
    const small = await worker.refreshLibrary("bob");

    // Assess
    expect(first?.parts).toHaveLength(SOURCES);
    expect(unchanged).toBeUndefined();
    expect(fewNew).toBeUndefined();
    expect(enoughNew?.parts).toHaveLength(SOURCES + 8);
    expect(small).toBeUndefined();
    expect(await currentLibraryId(blobs, "bob")).toBeUndefined();
  });

  it("builds nothing from a query when library builds are off", async () => {
    // Prepare
    const search = createRetriever({ records, blobs, embedder, logger, libraryBuilds: "off" });

    // Act
    const result = await search.retrieve({ userId: "alice" }, chunkTexts(12)[0] ?? "", 5);
    await search.settled();

    // Assess
    expect(result.passages[0]?.chunk_id).toBe("s12:0");
    expect(await blobs.list(libraryPrefix("alice"))).toEqual([]);
  });

  it("refuses a library of another format or user, and falls back to the shards", async () => {
    // Prepare
    const search = retriever();
    const manifest = await search.compact("alice");
    if (!manifest) throw new Error("no library built");
    const key = `${libraryPrefix("alice")}${manifest.id}/manifest.json`;
    await blobs.put(key, new TextEncoder().encode(JSON.stringify({ ...manifest, format: LIBRARY_FORMAT + 1 })));

    const space = { model: embedder.model, dims: embedder.dimensions };

    // Act
    const misread = await readLibrary(blobs, "alice", manifest.id, space).catch((error: unknown) => error);
    const foreign = await readLibrary(blobs, "bob", manifest.id, space).catch((error: unknown) => error);
    const fresh = retriever();
    const fallback = await fresh.retrieve({ userId: "alice" }, chunkTexts(40)[2] ?? "", 5);
    await fresh.settled();

    // Assess
    expect(misread).toBeInstanceOf(LibraryMismatchError);
    expect(foreign).toBeInstanceOf(LibraryMismatchError);
    expect(fallback.passages[0]?.chunk_id).toBe("s40:2");
    // The refused library is rebuilt in the current format.
    const rebuilt = await currentLibraryId(blobs, "alice");
    expect(rebuilt && (await readLibrary(blobs, "alice", rebuilt, space)).manifest.format).toBe(LIBRARY_FORMAT);
  });
});
