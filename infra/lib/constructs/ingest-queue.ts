// The ingestion queue and its dead-letter queue. The visibility timeout is derived from the worker's
// timeout (AWS guidance: at least 6× for Lambda event sources) so a slow batch is never handed to a
// second worker while the first still runs.
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

export interface IngestQueueProps {
  readonly workerTimeout: Duration;
  /** Deliveries before a message moves to the DLQ (a poison document must not loop forever). */
  readonly maxReceiveCount?: number;
  readonly removalPolicy?: RemovalPolicy;
  /** Extra props for the main queue (e.g. a longer retention). */
  readonly queueProps?: Partial<sqs.QueueProps>;
}

export class IngestQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: IngestQueueProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.deadLetterQueue = new sqs.Queue(this, "DeadLetterQueue", {
      // SSE-SQS rather than KMS: S3 event notifications cannot publish to a queue encrypted with the
      // AWS-managed KMS key, and nothing in a message is more sensitive than an object key.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // The maximum: failed documents stay inspectable (and redrivable) for two weeks.
      retentionPeriod: Duration.days(14),
      removalPolicy,
    });
    this.queue = new sqs.Queue(this, "Queue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(props.workerTimeout.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
      removalPolicy,
      ...props.queueProps,
    });
  }
}
