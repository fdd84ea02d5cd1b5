// The house Lambda: every function of the engine is one of these, so runtime, architecture,
// tracing, logging and bundling are decided once. Callers override with NodejsFunction's own props.
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, type NodejsFunctionProps, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";

/** Node 22: the faiss layer's native module is built for this ABI (see layers/faiss/README.md). */
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_22_X;

export function lambdaArchitecture(name: "x86_64" | "arm64"): lambda.Architecture {
  return name === "arm64" ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64;
}

/**
 * Modules never bundled. The AWS SDK v3 ships with the runtime. Native addons cannot be bundled by
 * esbuild: faiss-node comes from the faiss layer; @napi-rs/canvas (page rendering for OCR of
 * scanned PDFs, loaded lazily by shared/extraction) is installed beside the bundles of the functions
 * that parse documents (document-parsers.ts), and elsewhere never imported.
 */
export const EXTERNAL_MODULES = ["@aws-sdk/*", "faiss-node", "@napi-rs/canvas"];

/**
 * Packages replaced in every bundle (esbuild's alias), the replacement relative to the project root
 * where esbuild runs. whatwg-url: Node's own WHATWG URL instead of a second implementation and its
 * Unicode tables (see shared/store/whatwg-url.ts).
 *
 * zod: the same zod with English as its only locale (see shared/validation/zod-bundled/index.ts).
 * @hono/zod-openapi and LangChain hold zod's whole `z` object, and with it every export of zod,
 * including the error messages of 40+ languages (~260 KiB a bundle) that the engine never selects.
 * esbuild's alias also rewrites subpaths (`zod/v4` → `<directory>/v4`), so the replacement is a
 * directory with one module per entry point of zod's package.json.
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  "whatwg-url": "./shared/store/whatwg-url.ts",
  zod: "./shared/validation/zod-bundled",
};

export interface CollabryFunctionProps extends Omit<NodejsFunctionProps, "entry"> {
  /** Absolute path of the handler module (functions/<feature>/handler.ts). */
  readonly entry: string;
  /** Log retention of the function's own log group. */
  readonly logRetention?: logs.RetentionDays;
  /** What happens to the log group when the function is deleted (destroy for ephemeral stages). */
  readonly logRemovalPolicy?: RemovalPolicy;
}

export class CollabryFunction extends NodejsFunction {
  readonly logGroupResource: logs.LogGroup;

  constructor(scope: Construct, id: string, props: CollabryFunctionProps) {
    const { logRetention, logRemovalPolicy, bundling, ...rest } = props;
    // An explicit log group: retention is enforced from the first deploy (no log group left behind
    // forever by the Lambda service) and the group is removed or kept with the stage.
    const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
      retention: logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    super(scope, id, {
      runtime: FUNCTION_RUNTIME,
      architecture: lambda.Architecture.X86_64,
      memorySize: 512,
      timeout: Duration.seconds(30),
      tracing: lambda.Tracing.ACTIVE,
      loggingFormat: lambda.LoggingFormat.JSON,
      logGroup,
      ...rest,
      bundling: {
        format: OutputFormat.ESM,
        target: "node22",
        minify: true,
        // The map is deployed beside the bundle, but the functions run without --enable-source-maps:
        // Node would read it at every cold start (~35 ms of a model function's init) and decode it
        // whole the first time anything formats a stack. The engine's logger maps the stacks of the
        // errors it logs instead (shared/observability/stack-source-map.ts).
        sourceMap: true,
        sourcesContent: false,
        mainFields: ["module", "main"],
        externalModules: EXTERNAL_MODULES,
        esbuildArgs: Object.fromEntries(
          Object.entries(BUNDLE_ALIASES).map(([name, path]) => [`--alias:${name}`, path]),
        ),
        // ESM output still meets CommonJS dependencies that call require(): give them one.
        banner:
          "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
        ...bundling,
      },
    });
    this.logGroupResource = logGroup;
  }
}
