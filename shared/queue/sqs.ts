// SQS adapter: producers send here; the worker consumes through the Lambda SQS event source (with
// ReportBatchItemFailures), so there is no consumer in this file. The dead-letter side serves the
// admin view of failed ingestions.
//
// - Clients are cached at module scope by region/endpoint, reused across warm invocations.
// - Listing dead letters receives them with a short visibility timeout (so successive receives
//   progress through the queue instead of sampling the same messages), then releases them at once
//   with ChangeMessageVisibility 0. Each listing adds one to the messages' ApproximateReceiveCount;
//   the count reported excludes that peek. SQS keeps no error text, so `lastError` is absent.
// - Redrive uses StartMessageMoveTask (SQS's own DLQ redrive, server-side, keeps message ids and
//   attributes) and waits for the task to finish. Where the endpoint does not offer it, or with
//   `redriveMethod: "copy"`, it falls back to receive → SendMessageBatch → DeleteMessageBatch:
//   a crash between send and delete duplicates a message, which at-least-once consumers tolerate.
// - The SDK module is imported on first use, not with this module: evaluating it is a large share
//   of a Lambda's cold start, paid only by the invocation that first sends.
import type { Message, SQSClient } from "@aws-sdk/client-sqs";
import type { DeadLetterQueue, JobQueue } from "./queue.ts";

export interface SqsClientOptions {
  region?: string;
  endpoint?: string;
  /** Static credentials for local endpoints; AWS uses the Lambda role's. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** A ready client (tests, custom middleware); bypasses the module-level cache. */
  client?: SQSClient;
}

export interface SqsQueueOptions extends SqsClientOptions {
  queueUrl: string;
}

export interface SqsDeadLetterQueueOptions extends SqsClientOptions {
  dlqUrl: string;
  /** The source queue that dead letters are redriven back to. */
  queueUrl: string;
  /** "move-task" (default) falls back to "copy" when the endpoint lacks StartMessageMoveTask. */
  redriveMethod?: "move-task" | "copy";
  /** How long redrive waits for a move task to finish; default 60 s. */
  moveTaskTimeoutMs?: number;
  /** Long-poll seconds per listing receive; 1 (default) makes SQS query all its servers. */
  listWaitSeconds?: number;
}

type SqsSdk = typeof import("@aws-sdk/client-sqs");

let sdk: Promise<SqsSdk> | undefined;

/** The SQS client module, imported once per process; a failed import is retried by the next call. */
function loadSdk(): Promise<SqsSdk> {
  sdk ??= import("@aws-sdk/client-sqs").catch((error: unknown) => {
    sdk = undefined;
    throw error;
  });
  return sdk;
}

/** The SDK and the options' client (or the cached one for its region/endpoint). */
async function connect(options: SqsClientOptions): Promise<{ sqs: SqsSdk; client: SQSClient }> {
  const sqs = await loadSdk();
  return { sqs, client: sqsClient(sqs, options) };
}

const clients = new Map<string, SQSClient>();

function sqsClient({ SQSClient }: SqsSdk, options: SqsClientOptions): SQSClient {
  if (options.client) return options.client;
  const cacheKey = JSON.stringify([
    options.region ?? "",
    options.endpoint ?? "",
    options.credentials?.accessKeyId ?? "",
  ]);
  let client = clients.get(cacheKey);
  if (!client) {
    client = new SQSClient({
      ...(options.region ? { region: options.region } : {}),
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
    });
    clients.set(cacheKey, client);
  }
  return client;
}

/** Creates the producer side of an SQS queue; bodies are sent as JSON. */
export function createSqsQueue(options: SqsQueueOptions): JobQueue {
  return {
    kind: "sqs",
    async send(body) {
      const text = JSON.stringify(body);
      if (text === undefined) throw new Error("queue message body must be JSON-serialisable");
      const { sqs, client } = await connect(options);
      const out = await client.send(new sqs.SendMessageCommand({ QueueUrl: options.queueUrl, MessageBody: text }));
      if (!out.MessageId) throw new Error("SQS SendMessage returned no MessageId");
      return out.MessageId;
    },
  };
}

// Error names an endpoint uses for an action it does not implement.
const UNSUPPORTED = new Set(["UnsupportedOperation", "InvalidAction", "UnknownOperationException", "NotImplemented"]);

function isUnsupported({ SQSServiceException }: SqsSdk, error: unknown): boolean {
  return error instanceof SQSServiceException && UNSUPPORTED.has(error.name);
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Creates the dead-letter view of an SQS queue: list (peek) and redrive back to the source queue. */
export function createSqsDeadLetterQueue(options: SqsDeadLetterQueueOptions): DeadLetterQueue {
  const { dlqUrl, queueUrl } = options;
  const moveTaskTimeoutMs = options.moveTaskTimeoutMs ?? 60_000;
  const listWaitSeconds = options.listWaitSeconds ?? 1;

  async function receive(visibilityTimeout: number, waitSeconds: number): Promise<Message[]> {
    const { sqs, client } = await connect(options);
    const out = await client.send(
      new sqs.ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: visibilityTimeout,
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ["ApproximateReceiveCount", "SentTimestamp"],
        MessageAttributeNames: ["All"],
      }),
    );
    return out.Messages ?? [];
  }

  async function queueArn(url: string): Promise<string> {
    const { sqs, client } = await connect(options);
    const out = await client.send(new sqs.GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }));
    const arn = out.Attributes?.QueueArn;
    if (!arn) throw new Error(`SQS returned no QueueArn for ${url}`);
    return arn;
  }

  async function redriveWithMoveTask(): Promise<number> {
    const { sqs, client } = await connect(options);
    const [sourceArn, destinationArn] = await Promise.all([queueArn(dlqUrl), queueArn(queueUrl)]);
    const started = await client.send(
      new sqs.StartMessageMoveTaskCommand({ SourceArn: sourceArn, DestinationArn: destinationArn }),
    );
    const deadline = Date.now() + moveTaskTimeoutMs;
    for (;;) {
      const out = await client.send(new sqs.ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 10 }));
      const task =
        out.Results?.find((result) => result.TaskHandle === started.TaskHandle) ??
        // Finished tasks are listed without their handle: the newest one is ours.
        out.Results?.[0];
      if (task?.Status === "COMPLETED") return task.ApproximateNumberOfMessagesMoved ?? 0;
      if (task?.Status === "FAILED" || task?.Status === "CANCELLED") {
        throw new Error(`SQS message move task ${task.Status}: ${task.FailureReason ?? "no reason given"}`);
      }
      if (Date.now() > deadline) throw new Error("SQS message move task still running after the timeout");
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async function redriveByCopy(): Promise<number> {
    const { sqs, client } = await connect(options);
    let moved = 0;
    for (;;) {
      // The visibility timeout covers one send+delete round; an interrupted round reappears later.
      const messages = await receive(60, 0);
      if (messages.length === 0) return moved;
      const sent = await client.send(
        new sqs.SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: messages.map((message, index) => ({
            Id: String(index),
            MessageBody: message.Body ?? "",
            ...(message.MessageAttributes ? { MessageAttributes: message.MessageAttributes } : {}),
          })),
        }),
      );
      const delivered = (sent.Successful ?? []).flatMap((entry) => {
        const message = messages[Number(entry.Id)];
        return message?.ReceiptHandle ? [{ Id: entry.Id, ReceiptHandle: message.ReceiptHandle }] : [];
      });
      if (delivered.length > 0) {
        await client.send(new sqs.DeleteMessageBatchCommand({ QueueUrl: dlqUrl, Entries: delivered }));
      }
      moved += delivered.length;
      if ((sent.Failed ?? []).length > 0) {
        throw new Error(`SQS redrive: ${sent.Failed?.length} message(s) could not be sent back; ${moved} moved`);
      }
    }
  }

  return {
    async list() {
      const seen = new Map<string, Message>();
      // A cap keeps one listing bounded; an admin view does not need more than this at once.
      for (let round = 0; round < 100; round++) {
        const messages = await receive(30, listWaitSeconds);
        if (messages.length === 0) break;
        for (const message of messages) if (message.MessageId) seen.set(message.MessageId, message);
      }
      const { sqs, client } = await connect(options);
      const handles = [...seen.values()].flatMap((message) => (message.ReceiptHandle ? [message.ReceiptHandle] : []));
      for (const batch of chunks(handles, 10)) {
        await client.send(
          new sqs.ChangeMessageVisibilityBatchCommand({
            QueueUrl: dlqUrl,
            Entries: batch.map((ReceiptHandle, index) => ({ Id: String(index), ReceiptHandle, VisibilityTimeout: 0 })),
          }),
        );
      }
      return [...seen.values()]
        .map((message) => ({
          id: message.MessageId ?? "",
          body: message.Body ?? "",
          receiveCount: Math.max(0, Number(message.Attributes?.ApproximateReceiveCount ?? "1") - 1),
          sentAt: Number(message.Attributes?.SentTimestamp ?? "0"),
        }))
        .sort((a, b) => a.sentAt - b.sentAt)
        .map(({ id, body, receiveCount }) => ({ id, body, receiveCount }));
    },

    async redrive() {
      if (options.redriveMethod === "copy") return redriveByCopy();
      try {
        return await redriveWithMoveTask();
      } catch (error) {
        if (isUnsupported(await loadSdk(), error)) return redriveByCopy();
        throw error;
      }
    },
  };
}
