// Crash recovery and idempotency of ingestion: a runtime that dies mid-ingestion leaves a queue
// message and a half-written version behind; the next runtime on the same DATA_DIR finishes the
// job once the visibility timeout passes. Duplicate deliveries of one message publish one version.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { SQSEvent } from "aws-lambda";
import { afterAll, describe, expect, it } from "vitest";
import { workerFor } from "#functions/ingest/worker.ts";
import { blobKeys, type DocumentsClient, documentsClient, waitFor } from "#test/support/documents.ts";
import { startTestEngine, type TestEngine } from "#test/support/engine.ts";

const VISIBILITY = { INGEST_VISIBILITY_TIMEOUT_SECONDS: "5" };

// Four short sections: the chunker gives each heading its own chunk.
const NOTES = [
  "## Mitochondria\n\nMitochondria produce most of the cell's ATP through cellular respiration.",
  "## Ribosomes\n\nRibosomes translate messenger RNA into chains of amino acids.",
  "## Golgi apparatus\n\nThe Golgi apparatus packages proteins into vesicles for secretion.",
  "## Lysosomes\n\nLysosomes digest worn-out organelles with hydrolytic enzymes.",
].join("\n\n");
const EXPECTED_CHUNKS = 4;

interface StoredChunk {
  chunk_id: string;
  text: string;
}

const engines: TestEngine[] = [];

afterAll(async () => {
  for (const engine of engines.reverse()) await engine.cleanup();
});

async function started(env: Record<string, string>, dataDir?: string): Promise<TestEngine> {
  const engine = await startTestEngine(env, dataDir);
  engines.push(engine);
  return engine;
}

async function storedChunks(dataDir: string, key: string): Promise<StoredChunk[]> {
  return JSON.parse(await readFile(join(dataDir, "blobs", key), "utf8")) as StoredChunk[];
}

function sqsEvent(userId: string, documentId: string, receiveCount: number): SQSEvent {
  return {
    Records: [
      {
        messageId: `message-${documentId}`,
        receiptHandle: `receipt-${receiveCount}`,
        body: JSON.stringify({ type: "ingest", user_id: userId, document_id: documentId }),
        attributes: {
          ApproximateReceiveCount: String(receiveCount),
          SentTimestamp: String(Date.now()),
          SenderId: "test",
          ApproximateFirstReceiveTimestamp: String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: "",
        eventSource: "aws:sqs",
        eventSourceARN: "arn:aws:sqs:local:000000000000:ingest",
        awsRegion: "local",
      },
    ],
  };
}

async function expectAnswerFrom(client: DocumentsClient, sourceId: string): Promise<void> {
  const answer = await client.ask({ question: "Which organelle digests worn-out organelles?", source_ids: [sourceId] });
  expect(answer.citations[0]?.source_id).toBe(sourceId);
  expect(answer.citations[0]?.quote).toContain("Lysosomes digest");
}

describe("a runtime that stops mid-ingestion", () => {
  it("leaves work that the next runtime on the same DATA_DIR finishes, without duplicate chunks", async () => {
    // Prepare: the consumer is stopped before the upload, so the message stays queued.
    const first = await started(VISIBILITY);
    await first.runtime.engine.localQueue?.stop();
    const dave = documentsClient(first.url, await first.token("dave"));
    const uploaded = await dave.uploadFile("organelles.md", new TextEncoder().encode(NOTES), {
      source_id: "src-recover",
    });
    // What a crash after writing part of version 1 and before publishing leaves behind: a claimed,
    // unacknowledged message, a record in "processing" and a torn chunk file with duplicated ids.
    const { engine } = first.runtime;
    await engine.records.update("dave", uploaded.document_id, {
      status: "processing",
      started_at: new Date(),
      attempts: 1,
    });
    const torn = [0, 0, 1, 1].map((index) => ({ chunk_id: `src-recover:${index}`, text: "torn" }));
    await engine.blobs.put(
      `indexes/dave/src-recover/${uploaded.document_id}/v1/chunks.json`,
      new TextEncoder().encode(JSON.stringify(torn)),
    );
    const claimed = await engine.store
      .collection("queue_ingest")
      .updateMany(
        { state: "ready" },
        { $set: { visible_at: new Date(Date.now() + 5_000), receive_count: 1, receipt_handle: "crashed-consumer" } },
      );
    await first.stop();

    // Act
    const second = await started(VISIBILITY, first.dataDir);
    const daveAgain = documentsClient(second.url, await second.token("dave"));
    const whileInvisible = await daveAgain.getDocument(uploaded.document_id);
    const ready = await waitFor(
      async () => {
        const document = await daveAgain.getDocument(uploaded.document_id);
        return document.status === "ready" || document.status === "failed" ? document : undefined;
      },
      "the recovered document to be ingested",
      { timeoutMs: 20_000 },
    );

    // Assess
    expect(claimed.modifiedCount).toBe(1);
    expect(whileInvisible.status).toBe("processing");
    expect(ready).toMatchObject({ status: "ready", chunks: EXPECTED_CHUNKS, error: null });
    const keys = await blobKeys(second.dataDir, "indexes/dave/src-recover/");
    expect(keys).toEqual([
      `indexes/dave/src-recover/${uploaded.document_id}/v1/chunks.json`,
      `indexes/dave/src-recover/${uploaded.document_id}/v1/index.faiss`,
    ]);
    const chunks = await storedChunks(
      second.dataDir,
      `indexes/dave/src-recover/${uploaded.document_id}/v1/chunks.json`,
    );
    const ids = chunks.map((chunk) => chunk.chunk_id);
    expect(ids).toEqual(Array.from({ length: EXPECTED_CHUNKS }, (_, index) => `src-recover:${index}`));
    expect(new Set(ids).size).toBe(ids.length);
    expect(chunks.some((chunk) => chunk.text === "torn")).toBe(false);
    await expectAnswerFrom(daveAgain, "src-recover");
    expect(await second.runtime.engine.store.collection("queue_ingest").countDocuments({})).toBe(0);
  });
});

describe("the ingestion worker run twice on one message", () => {
  it("publishes one version with the same chunks when the deliveries follow each other", async () => {
    // Prepare
    const engine = await started(VISIBILITY);
    await engine.runtime.engine.localQueue?.stop();
    const erin = documentsClient(engine.url, await engine.token("erin"));
    const uploaded = await erin.uploadFile("organelles.md", new TextEncoder().encode(NOTES), {
      source_id: "src-twice",
    });
    const worker = workerFor(engine.runtime.engine);

    // Act
    const firstRun = await worker(sqsEvent("erin", uploaded.document_id, 1));
    const afterFirst = await erin.getDocument(uploaded.document_id);
    const secondRun = await worker(sqsEvent("erin", uploaded.document_id, 2));
    const afterSecond = await erin.getDocument(uploaded.document_id);

    // Assess
    expect(firstRun.batchItemFailures).toEqual([]);
    expect(secondRun.batchItemFailures).toEqual([]);
    expect(afterFirst).toMatchObject({ status: "ready", chunks: EXPECTED_CHUNKS });
    expect(afterSecond).toMatchObject({ status: "ready", chunks: EXPECTED_CHUNKS });
    expect(await blobKeys(engine.dataDir, "indexes/erin/src-twice/")).toEqual([
      `indexes/erin/src-twice/${uploaded.document_id}/v1/chunks.json`,
      `indexes/erin/src-twice/${uploaded.document_id}/v1/index.faiss`,
    ]);
    expect(
      await storedChunks(engine.dataDir, `indexes/erin/src-twice/${uploaded.document_id}/v1/chunks.json`),
    ).toHaveLength(EXPECTED_CHUNKS);
    await expectAnswerFrom(erin, "src-twice");
  });

  it("publishes one usable version when two deliveries overlap (visibility timeout passed mid-run)", async () => {
    // Prepare
    const engine = await started(VISIBILITY);
    await engine.runtime.engine.localQueue?.stop();
    const erin = documentsClient(engine.url, await engine.token("erin"));
    const uploaded = await erin.uploadFile("organelles.md", new TextEncoder().encode(NOTES), {
      source_id: "src-overlap",
    });
    const worker = workerFor(engine.runtime.engine);

    // Act
    const runs = await Promise.all([
      worker(sqsEvent("erin", uploaded.document_id, 1)),
      worker(sqsEvent("erin", uploaded.document_id, 2)),
    ]);
    const document = await erin.getDocument(uploaded.document_id);

    // Assess
    expect(runs.map((run) => run.batchItemFailures)).toEqual([[], []]);
    expect(document).toMatchObject({ status: "ready", chunks: EXPECTED_CHUNKS });
    expect(await blobKeys(engine.dataDir, "indexes/erin/src-overlap/")).toEqual([
      `indexes/erin/src-overlap/${uploaded.document_id}/v1/chunks.json`,
      `indexes/erin/src-overlap/${uploaded.document_id}/v1/index.faiss`,
    ]);
    const chunks = await storedChunks(
      engine.dataDir,
      `indexes/erin/src-overlap/${uploaded.document_id}/v1/chunks.json`,
    );
    expect(new Set(chunks.map((chunk) => chunk.chunk_id)).size).toBe(EXPECTED_CHUNKS);
    await expectAnswerFrom(erin, "src-overlap");
  });
});
