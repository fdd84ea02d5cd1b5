// The ingestion worker: an SQS-triggered Lambda that extracts, chunks, embeds and writes FAISS
// shards. Partial batch failures: one bad document is retried (then dead-lettered) alone.
import { Duration } from "aws-cdk-lib";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { CollabryFunction, type CollabryFunctionProps } from "./collabry-function.ts";
import { parserBundling } from "./document-parsers.ts";

export interface IngestWorkerProps {
  readonly queue: sqs.IQueue;
  readonly functionProps: CollabryFunctionProps;
  /** Messages per invocation (each is one document). */
  readonly batchSize?: number;
  /** Upper bound on parallel workers: protects MongoDB and the embedding model from a bulk upload. */
  readonly reservedConcurrency?: number;
}

export class IngestWorker extends Construct {
  readonly function: CollabryFunction;

  constructor(scope: Construct, id: string, props: IngestWorkerProps) {
    super(scope, id);
    const timeout = props.functionProps.timeout ?? Duration.minutes(5);
    // Every parser of uploaded files, OCR included, installed beside the bundle.
    const parsers = parserBundling("documents", props.functionProps.architecture ?? lambda.Architecture.X86_64);
    const bundling = props.functionProps.bundling;
    this.function = new CollabryFunction(this, "Function", {
      timeout,
      reservedConcurrentExecutions: props.reservedConcurrency ?? 5,
      ...props.functionProps,
      bundling: {
        ...bundling,
        nodeModules: [...(bundling?.nodeModules ?? []), ...(parsers.nodeModules ?? [])],
        commandHooks: bundling?.commandHooks ?? parsers.commandHooks,
      },
    });
    this.function.addEventSource(
      new SqsEventSource(props.queue, {
        batchSize: props.batchSize ?? 5,
        maxBatchingWindow: Duration.seconds(5),
        reportBatchItemFailures: true,
        // Never more pollers than the reserved concurrency allows (avoids throttled retries).
        maxConcurrency: props.reservedConcurrency ?? 5,
      }),
    );
  }
}
