import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createInProcessQueue, exponentialBackoff, type InProcessQueueOptions } from "#shared/queue/in-process.ts";
import { openEmbeddedStore } from "#shared/store/embedded.ts";
import type { DocumentStore } from "#shared/store/store.ts";

let baseDir: string;
let counter = 0;
const openStores: DocumentStore[] = [];
const stops: Array<() => Promise<void>> = [];

beforeAll(() => {
  baseDir = mkdtempSync(join(tmpdir(), "collabry-queue-"));
});

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  for (const store of openStores.splice(0)) await store.close();
});

afterAll(() => {
  rmSync(baseDir, { recursive: true, force: true });
});

function freshDir(): string {
  counter += 1;
  return join(baseDir, `store-${counter}`);
}

async function openStore(dir: string = freshDir()): Promise<DocumentStore> {
  const store = await openEmbeddedStore({ dir });
  openStores.push(store);
  return store;
}

type Overrides = Partial<Omit<InProcessQueueOptions, "store">>;

async function makeQueue(overrides: Overrides = {}, store?: DocumentStore) {
  const queue = createInProcessQueue({
    store: store ?? (await openStore()),
    name: "ingest",
    visibilityTimeoutMs: 30_000,
    maxReceives: 3,
    pollIntervalMs: 5,
    backoff: () => 0,
    ...overrides,
  });
  stops.push(() => queue.stop());
  return queue;
}

/** A handler that records every delivered record and fails those `fail` picks. */
function recordingHandler(fail: (record: SQSRecord) => boolean = () => false) {
  const seen: SQSRecord[] = [];
  const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
    seen.push(...event.Records);
    return {
      batchItemFailures: event.Records.filter(fail).map((record) => ({ itemIdentifier: record.messageId })),
    };
  };
  return { seen, handler };
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("in-process queue", () => {
  it("delivers a real SQS event with the JSON body", async () => {
    // Prepare
    const queue = await makeQueue();
    const { seen, handler } = recordingHandler();
    queue.start(handler);

    // Act
    const id = await queue.send({ sourceId: "s1", userId: "u1" });
    await queue.drain(5000);

    // Assess
    expect(queue.kind).toBe("in-process");
    expect(seen).toHaveLength(1);
    const record = seen[0];
    expect(record?.messageId).toBe(id);
    expect(JSON.parse(record?.body ?? "")).toEqual({ sourceId: "s1", userId: "u1" });
    expect(record?.eventSource).toBe("aws:sqs");
    expect(record?.attributes.ApproximateReceiveCount).toBe("1");
    expect(record?.md5OfBody).toBe(
      createHash("md5")
        .update(record?.body ?? "")
        .digest("hex"),
    );
    expect(record?.receiptHandle).not.toBe("");
    expect(await queue.list()).toEqual([]);
  });

  it("re-delivers a failed record with ApproximateReceiveCount 2 (at-least-once)", async () => {
    // Prepare
    const queue = await makeQueue();
    const { seen, handler } = recordingHandler((record) => record.attributes.ApproximateReceiveCount === "1");
    queue.start(handler);

    // Act
    const id = await queue.send({ job: "extract" });
    await queue.drain(5000);

    // Assess
    expect(seen.map((r) => [r.messageId, r.attributes.ApproximateReceiveCount])).toEqual([
      [id, "1"],
      [id, "2"],
    ]);
  });

  it("retries only the failed record of a partial batch (Powertools BatchProcessor)", async () => {
    // Prepare
    const queue = await makeQueue({ batchSize: 10 });
    const deliveries: string[] = [];
    const processor = new BatchProcessor(EventType.SQS);
    const recordHandler = async (record: SQSRecord): Promise<void> => {
      const body = JSON.parse(record.body) as { name: string };
      deliveries.push(body.name);
      if (body.name === "bad" && record.attributes.ApproximateReceiveCount === "1") throw new Error("transient");
    };
    // Sent before the consumer starts, so all three arrive in one batch.
    for (const name of ["good-1", "bad", "good-2"]) await queue.send({ name });

    // Act
    queue.start((event) => processPartialResponse(event, recordHandler, processor));
    await queue.drain(5000);

    // Assess
    expect(deliveries.filter((name) => name === "good-1")).toHaveLength(1);
    expect(deliveries.filter((name) => name === "good-2")).toHaveLength(1);
    expect(deliveries.filter((name) => name === "bad")).toHaveLength(2);
  });

  it("moves a message to the dead-letter state after maxReceives, with the last error", async () => {
    // Prepare
    const queue = await makeQueue({ maxReceives: 3 });
    let calls = 0;
    queue.start(async () => {
      calls += 1;
      throw new Error(`extractor crashed (${calls})`);
    });

    // Act
    const id = await queue.send({ sourceId: "broken" });
    await queue.drain(5000);
    const dead = await queue.list();

    // Assess
    expect(calls).toBe(3);
    expect(dead).toEqual([
      { id, body: JSON.stringify({ sourceId: "broken" }), receiveCount: 3, lastError: "Error: extractor crashed (3)" },
    ]);
  });

  it("redrives dead letters back with a fresh receive count", async () => {
    // Prepare
    const queue = await makeQueue({ maxReceives: 1 });
    let healthy = false;
    const { seen, handler } = recordingHandler(() => !healthy);
    queue.start(handler);
    await queue.send({ n: 1 });
    await queue.send({ n: 2 });
    await queue.drain(5000);
    const deadBefore = await queue.list();

    // Act
    healthy = true;
    const moved = await queue.redrive();
    await queue.drain(5000);

    // Assess
    expect(deadBefore).toHaveLength(2);
    expect(deadBefore.every((m) => m.lastError === "reported in batchItemFailures")).toBe(true);
    expect(moved).toBe(2);
    expect(seen.slice(2).map((r) => r.attributes.ApproximateReceiveCount)).toEqual(["1", "1"]);
    expect(await queue.list()).toEqual([]);
  });

  it("waits the backoff before a retry becomes visible", async () => {
    // Prepare
    let clock = Date.UTC(2025, 0, 1);
    const queue = await makeQueue({ now: () => new Date(clock), backoff: exponentialBackoff });
    const { seen, handler } = recordingHandler((record) => record.attributes.ApproximateReceiveCount === "1");
    queue.start(handler);
    await queue.send({ job: 1 });
    await waitFor(() => seen.length === 1);

    // Act
    await new Promise((resolve) => setTimeout(resolve, 50));
    const beforeBackoff = seen.length;
    clock += 2000;
    await queue.drain(5000);

    // Assess
    expect(exponentialBackoff(1)).toBe(2000);
    expect(exponentialBackoff(10)).toBe(60_000);
    expect(beforeBackoff).toBe(1);
    expect(seen.map((r) => r.attributes.ApproximateReceiveCount)).toEqual(["1", "2"]);
  });

  it("re-delivers a record whose handler outlives the visibility timeout", async () => {
    // Prepare
    let clock = Date.UTC(2025, 0, 1);
    const now = () => new Date(clock);
    const store = await openStore();
    const slowWorker = await makeQueue({ now, visibilityTimeoutMs: 1000 }, store);
    const fastWorker = await makeQueue({ now, visibilityTimeoutMs: 1000 }, store);
    let release = (): void => {};
    const slowSeen: SQSRecord[] = [];
    slowWorker.start(async (event) => {
      slowSeen.push(...event.Records);
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return { batchItemFailures: [] };
    });
    const id = await slowWorker.send({ job: "long" });
    await waitFor(() => slowSeen.length === 1);
    const fast = recordingHandler(() => false);
    fastWorker.start(fast.handler);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const seenWhileVisible = fast.seen.length;

    // Act
    clock += 1001;
    await waitFor(() => fast.seen.length === 1);
    release();
    await fastWorker.drain(5000);

    // Assess
    expect(seenWhileVisible).toBe(0);
    expect(fast.seen[0]?.messageId).toBe(id);
    expect(fast.seen[0]?.attributes.ApproximateReceiveCount).toBe("2");
    expect(await fastWorker.list()).toEqual([]);
  });

  it("survives a crash: unacknowledged and unclaimed messages come back after reopening", async () => {
    // Prepare
    const dir = freshDir();
    const firstStore = await openEmbeddedStore({ dir });
    const crashed = createInProcessQueue({
      store: firstStore,
      name: "ingest",
      visibilityTimeoutMs: 1000,
      maxReceives: 3,
      batchSize: 1,
      pollIntervalMs: 5,
    });
    const claimedBeforeCrash: SQSRecord[] = [];
    // The handler never finishes: the process "dies" while the record is in flight.
    crashed.start(async (event) => {
      claimedBeforeCrash.push(...event.Records);
      return new Promise<SQSBatchResponse>(() => {});
    });
    const inFlightId = await crashed.send({ job: "in flight" });
    await waitFor(() => claimedBeforeCrash.length === 1);
    const unclaimedId = await crashed.send({ job: "never claimed" });
    await firstStore.close();

    // Act
    const reopened = await openStore(dir);
    const restarted = createInProcessQueue({
      store: reopened,
      name: "ingest",
      visibilityTimeoutMs: 1000,
      maxReceives: 3,
      pollIntervalMs: 5,
      now: () => new Date(Date.now() + 1500),
    });
    stops.push(() => restarted.stop());
    const { seen, handler } = recordingHandler();
    restarted.start(handler);
    await restarted.drain(5000);

    // Assess
    const counts = Object.fromEntries(seen.map((r) => [r.messageId, r.attributes.ApproximateReceiveCount]));
    expect(claimedBeforeCrash[0]?.messageId).toBe(inFlightId);
    expect(counts).toEqual({ [inFlightId]: "2", [unclaimedId]: "1" });
  });

  it("sends a message whose visibility expired after its last receive to the dead letters", async () => {
    // Prepare
    const dir = freshDir();
    const firstStore = await openEmbeddedStore({ dir });
    const crashed = createInProcessQueue({
      store: firstStore,
      name: "ingest",
      visibilityTimeoutMs: 1000,
      maxReceives: 1,
      pollIntervalMs: 5,
    });
    let claimed = 0;
    crashed.start(async () => {
      claimed += 1;
      return new Promise<SQSBatchResponse>(() => {});
    });
    const id = await crashed.send({ job: "poison" });
    await waitFor(() => claimed === 1);
    await firstStore.close();

    // Act
    const restarted = await makeQueue({ maxReceives: 1, now: () => new Date(Date.now() + 1500) }, await openStore(dir));
    const { seen, handler } = recordingHandler();
    restarted.start(handler);
    await restarted.drain(5000);

    // Assess
    expect(seen).toEqual([]);
    expect(await restarted.list()).toEqual([
      {
        id,
        body: JSON.stringify({ job: "poison" }),
        receiveCount: 1,
        lastError: "not acknowledged within the visibility timeout",
      },
    ]);
  });

  it("drains only when nothing is queued or in flight, and times out otherwise", async () => {
    // Prepare
    const queue = await makeQueue();
    let finished = 0;
    for (let i = 0; i < 5; i++) await queue.send({ i });

    // Act
    const withoutConsumer = queue.drain(50);
    await expect(withoutConsumer).rejects.toThrow(/drain timed out with 5 message/);
    queue.start(async (event) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      finished += event.Records.length;
      return { batchItemFailures: [] };
    });
    await queue.drain(5000);

    // Assess
    expect(finished).toBe(5);
  });

  it("stops after the in-flight batch and resumes delivery on restart", async () => {
    // Prepare
    const queue = await makeQueue();
    const { seen, handler } = recordingHandler();
    queue.start(handler);
    await queue.send({ n: 1 });
    await queue.drain(5000);

    // Act
    await queue.stop();
    await queue.send({ n: 2 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    const whileStopped = seen.length;
    queue.start(handler);
    await queue.drain(5000);

    // Assess
    expect(whileStopped).toBe(1);
    expect(seen.map((r) => JSON.parse(r.body))).toEqual([{ n: 1 }, { n: 2 }]);
  });
});
