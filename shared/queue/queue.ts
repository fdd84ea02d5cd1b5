// Queue port: SQS in AWS, an in-process queue locally, with the same semantics: at-least-once
// delivery, a visibility timeout, retries with backoff, a dead-letter queue after N receives, and
// partial batch failures. The worker is one handler that takes the SQS event shape.
import type { SQSBatchResponse, SQSEvent } from "aws-lambda";

export interface QueueMessage<T = unknown> {
  body: T;
  /** SQS deduplicates nothing on standard queues: consumers must be idempotent. */
  groupId?: string;
}

/** The worker's contract: the SQS event in, the ids of the failed records out. */
export type BatchHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

export interface JobQueue {
  readonly kind: "sqs" | "in-process";
  /** Enqueues one message (JSON-serialised); returns the message id. */
  send(body: unknown): Promise<string>;
}

export interface QueueConsumer {
  /** Starts delivering batches to the handler (in-process only; SQS uses the Lambda event source). */
  start(handler: BatchHandler): void;
  /** Stops after in-flight batches finish. */
  stop(): Promise<void>;
  /** Resolves when nothing is queued or in flight (tests and shutdown). */
  drain(timeoutMs?: number): Promise<void>;
}

export interface DeadLetterQueue {
  /** Messages that exhausted their receives, oldest first. */
  list(): Promise<Array<{ id: string; body: string; receiveCount: number; lastError?: string }>>;
  /** Moves dead letters back to the main queue; returns how many moved. */
  redrive(): Promise<number>;
}
