// In-process queue: the local stand-in for SQS + the Lambda event source, with the same semantics.
//
// - Durable: every message is a document in `queue_<name>` of the document store (the embedded
//   store fsyncs each commit), so a killed process re-delivers whatever was not acknowledged once
//   its visibility timeout passes. Delivery is at-least-once; handlers must be idempotent.
// - A receive is one atomic findOneAndUpdate on `{state: "ready", visible_at <= now}` that pushes
//   `visible_at` out by the visibility timeout, bumps `receive_count` and sets a fresh receipt
//   handle; two consumers (or two processes on one DATA_DIR) never receive the same message for
//   the same visibility window.
// - Acknowledgements and failures are conditional on that receipt handle. A record whose handler
//   outlives the visibility timeout may be delivered again (to another consumer, or to this one
//   after the batch ends); the late outcome of the first delivery is then ignored, exactly like a
//   stale receipt handle on SQS.
// - Like the Lambda event source with ReportBatchItemFailures: records listed in
//   `batchItemFailures` are retried (after `backoff(receiveCount)`), the others are deleted; a
//   handler that throws fails the whole batch. After `maxReceives` receives a failed message moves
//   to state "dead" with its last error; a message whose visibility expires after its last
//   allowed receive goes dead on the next receive, as SQS's redrive policy does.
// - One batch is in flight per consumer at a time: the local runtime needs ordering-free
//   simplicity more than throughput.
import { createHash, randomUUID } from "node:crypto";
import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type { DocumentStore, StoredDocument } from "../store/store.ts";
import type { BatchHandler, DeadLetterQueue, JobQueue, QueueConsumer } from "./queue.ts";

export interface InProcessQueueOptions {
  store: DocumentStore;
  name: string;
  visibilityTimeoutMs: number;
  /** Receives before a failing message goes dead (SQS's maxReceiveCount). */
  maxReceives: number;
  /** Records per delivered batch; default 10 (SQS's maximum per receive). */
  batchSize?: number;
  /** Idle wait between empty receives; default 200 ms. `send` in this process wakes the consumer at once. */
  pollIntervalMs?: number;
  /** Delay before a failed message is visible again; default 1 s · 2^receiveCount, at most 60 s. */
  backoff?: (receiveCount: number) => number;
  now?: () => Date;
  /** Where store errors in the consumer loop go (the loop retries after the poll interval). */
  onError?: (error: unknown) => void;
}

interface QueuedMessage extends StoredDocument {
  body: string;
  state: "ready" | "dead";
  visible_at: Date;
  receive_count: number;
  sent_at: Date;
  first_received_at: Date | null;
  receipt_handle: string | null;
  last_error: string | null;
  dead_at: Date | null;
}

/** Default retry delay: 1 s · 2^receiveCount, capped at 60 s. */
export function exponentialBackoff(receiveCount: number): number {
  return Math.min(1000 * 2 ** receiveCount, 60_000);
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Creates a durable in-process queue stored in `queue_<name>` of the document store. */
export function createInProcessQueue(options: InProcessQueueOptions): JobQueue & QueueConsumer & DeadLetterQueue {
  const { store, name, visibilityTimeoutMs, maxReceives } = options;
  const batchSize = options.batchSize ?? 10;
  const pollIntervalMs = options.pollIntervalMs ?? 200;
  const backoff = options.backoff ?? exponentialBackoff;
  const now = options.now ?? (() => new Date());
  const onError = options.onError ?? ((error: unknown) => console.error(`queue ${name}:`, error));
  const collection = store.collection<QueuedMessage>(`queue_${name}`);
  const eventSourceARN = `arn:aws:sqs:local:000000000000:${name}`;

  let indexes: Promise<void> | undefined;
  const ready = (): Promise<void> => {
    indexes ??= store.ensureIndexes(`queue_${name}`, [{ keys: { state: 1, visible_at: 1 }, name: "state_visible_at" }]);
    return indexes;
  };

  let running: Promise<void> | undefined;
  let stopping = false;
  let delivering = false;
  let wake: (() => void) | undefined;

  const nudge = (): void => {
    wake?.();
  };

  function pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });
  }

  /** Claims one visible message; a message past its last allowed receive goes dead instead. */
  async function claimOne(): Promise<QueuedMessage | undefined> {
    for (;;) {
      const at = now();
      const claimed = await collection.findOneAndUpdate(
        { state: "ready", visible_at: { $lte: at } },
        {
          $set: { visible_at: new Date(at.getTime() + visibilityTimeoutMs), receipt_handle: randomUUID() },
          $inc: { receive_count: 1 },
        },
        { sort: { visible_at: 1, sent_at: 1 }, returnDocument: "after" },
      );
      if (!claimed) return undefined;
      if (claimed.receive_count <= maxReceives) {
        if (claimed.first_received_at === null) {
          claimed.first_received_at = at;
          await collection.updateOne({ _id: claimed._id }, { $set: { first_received_at: at } });
        }
        return claimed;
      }
      await collection.updateOne(
        { _id: claimed._id, receipt_handle: claimed.receipt_handle },
        {
          $set: {
            state: "dead",
            dead_at: at,
            receipt_handle: null,
            last_error: claimed.last_error ?? "not acknowledged within the visibility timeout",
          },
          // This receive was never delivered, so it does not count.
          $inc: { receive_count: -1 },
        },
      );
    }
  }

  function toRecord(message: QueuedMessage): SQSRecord {
    return {
      messageId: message._id,
      receiptHandle: message.receipt_handle ?? "",
      body: message.body,
      attributes: {
        ApproximateReceiveCount: String(message.receive_count),
        SentTimestamp: String(message.sent_at.getTime()),
        SenderId: "in-process",
        ApproximateFirstReceiveTimestamp: String((message.first_received_at ?? message.sent_at).getTime()),
      },
      messageAttributes: {},
      md5OfBody: createHash("md5").update(message.body).digest("hex"),
      eventSource: "aws:sqs",
      eventSourceARN,
      awsRegion: "local",
    };
  }

  async function settle(message: QueuedMessage, error: string | undefined): Promise<void> {
    const mine = { _id: message._id, receipt_handle: message.receipt_handle };
    if (error === undefined) {
      await collection.deleteOne(mine);
      return;
    }
    const at = now();
    if (message.receive_count >= maxReceives) {
      await collection.updateOne(mine, {
        $set: { state: "dead", dead_at: at, receipt_handle: null, last_error: error },
      });
      return;
    }
    await collection.updateOne(mine, {
      $set: {
        visible_at: new Date(at.getTime() + backoff(message.receive_count)),
        receipt_handle: null,
        last_error: error,
      },
    });
  }

  async function deliver(handler: BatchHandler, batch: QueuedMessage[]): Promise<void> {
    const event: SQSEvent = { Records: batch.map(toRecord) };
    const failed = new Map<string, string>();
    try {
      const response: SQSBatchResponse | undefined = await handler(event);
      for (const item of response?.batchItemFailures ?? []) {
        failed.set(item.itemIdentifier, "reported in batchItemFailures");
      }
    } catch (error) {
      const text = errorText(error);
      for (const message of batch) failed.set(message._id, text);
    }
    for (const message of batch) await settle(message, failed.get(message._id));
  }

  async function consume(handler: BatchHandler): Promise<void> {
    await ready();
    while (!stopping) {
      try {
        delivering = true;
        const batch: QueuedMessage[] = [];
        while (batch.length < batchSize) {
          const message = await claimOne();
          if (!message) break;
          batch.push(message);
        }
        if (batch.length > 0) {
          await deliver(handler, batch);
          continue;
        }
      } catch (error) {
        onError(error);
      } finally {
        delivering = false;
      }
      if (!stopping) await pause(pollIntervalMs);
    }
  }

  return {
    kind: "in-process",

    async send(body) {
      const text = JSON.stringify(body);
      if (text === undefined) throw new Error("queue message body must be JSON-serialisable");
      await ready();
      const at = now();
      const id = randomUUID();
      await collection.insertOne({
        _id: id,
        body: text,
        state: "ready",
        visible_at: at,
        receive_count: 0,
        sent_at: at,
        first_received_at: null,
        receipt_handle: null,
        last_error: null,
        dead_at: null,
      });
      nudge();
      return id;
    },

    start(handler) {
      if (running) throw new Error(`queue ${name} is already consuming`);
      stopping = false;
      running = consume(handler);
    },

    async stop() {
      stopping = true;
      nudge();
      await running;
      running = undefined;
    },

    async drain(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        // Claimed but unacknowledged messages are still "ready" (only invisible), so they count.
        const remaining = await collection.countDocuments({ state: "ready" });
        if (remaining === 0 && !delivering) return;
        if (Date.now() > deadline) {
          throw new Error(`queue ${name}: drain timed out with ${remaining} message(s) left`);
        }
        nudge();
        await new Promise((resolve) => setTimeout(resolve, Math.min(pollIntervalMs, 10)));
      }
    },

    async list() {
      const dead = await collection.find({ state: "dead" }, { sort: { sent_at: 1 } });
      return dead.map((message) => ({
        id: message._id,
        body: message.body,
        receiveCount: message.receive_count,
        ...(message.last_error === null ? {} : { lastError: message.last_error }),
      }));
    },

    async redrive() {
      const result = await collection.updateMany(
        { state: "dead" },
        { $set: { state: "ready", visible_at: now(), receive_count: 0, receipt_handle: null, dead_at: null } },
      );
      nudge();
      return result.modifiedCount;
    },
  };
}
