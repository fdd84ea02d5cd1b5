// The ingestion worker: an SQS-triggered Lambda that extracts, chunks, embeds and writes FAISS
// shards. Partial batch failures: one bad document is retried (then dead-lettered) alone.
import { createRequire } from "node:module";
import { Duration } from "aws-cdk-lib";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type { BundlingOptions } from "aws-cdk-lib/aws-lambda-nodejs";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { CollabryFunction, type CollabryFunctionProps } from "./collabry-function.ts";

/**
 * What OCR reads from files at run time, which a single-file bundle cannot hold: tesseract.js starts
 * its worker script by path, that worker loads the wasm core (tesseract.js-core), the English model
 * is read from @tesseract.js-data/eng, and scanned PDF pages are rendered by @napi-rs/canvas, a
 * native addon. NodejsFunction installs these beside the bundle and leaves their imports to Node.
 */
export const OCR_NODE_MODULES = ["tesseract.js", "tesseract.js-core", "@tesseract.js-data/eng", "@napi-rs/canvas"];

/**
 * The canvas binary for the function's architecture. @napi-rs/canvas takes it from a per-platform
 * optional package, which npm picks for the machine that installs (a Mac, an x86_64 build host for
 * an arm64 function): so after the install the Lambda's own package is unpacked beside it, at the
 * version @napi-rs/canvas pins, whatever the build host. `npm pack` only downloads the tarball, and
 * only when the install did not already bring that package (a build host of the same platform).
 */
export function canvasBinaryPackage(architecture: lambda.Architecture): { name: string; version: string } {
  const cpu = architecture.name === lambda.Architecture.ARM_64.name ? "arm64" : "x64";
  const name = `@napi-rs/canvas-linux-${cpu}-gnu`;
  const manifest = createRequire(import.meta.url)("@napi-rs/canvas/package.json") as {
    optionalDependencies?: Record<string, string>;
  };
  const version = manifest.optionalDependencies?.[name];
  if (!version) throw new Error(`@napi-rs/canvas names no ${name} binary package`);
  return { name, version };
}

/** The worker's bundling: OCR's files installed beside the bundle, canvas for the Lambda's architecture. */
export function ocrBundling(architecture: lambda.Architecture): Pick<BundlingOptions, "nodeModules" | "commandHooks"> {
  const { name, version } = canvasBinaryPackage(architecture);
  const tarball = `${name.slice(1).replace("/", "-")}-${version}.tgz`;
  return {
    nodeModules: [...OCR_NODE_MODULES],
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (_inputDir, outputDir) => [
        `if [ ! -f "${outputDir}/node_modules/${name}/package.json" ]; then ` +
          `mkdir -p "${outputDir}/node_modules/${name}" && ` +
          `npm pack --silent --pack-destination "${outputDir}" ${name}@${version} && ` +
          `tar -xzf "${outputDir}/${tarball}" -C "${outputDir}/node_modules/${name}" --strip-components=1 && ` +
          `rm -f "${outputDir}/${tarball}"; fi`,
      ],
    },
  };
}

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
    const ocr = ocrBundling(props.functionProps.architecture ?? lambda.Architecture.X86_64);
    const bundling = props.functionProps.bundling;
    this.function = new CollabryFunction(this, "Function", {
      timeout,
      reservedConcurrentExecutions: props.reservedConcurrency ?? 5,
      ...props.functionProps,
      bundling: {
        ...bundling,
        nodeModules: [...(bundling?.nodeModules ?? []), ...(ocr.nodeModules ?? [])],
        commandHooks: bundling?.commandHooks ?? ocr.commandHooks,
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
