// Cold-start bench (performance issue, item 2): bundles every Lambda with the CDK's esbuild
// settings, then imports each bundle in a fresh `node` process with a Lambda-like environment and
// invokes it: bundle size, import time, first and second invocation, peak RSS. A feature function
// builds its app during Lambda's init (the handler module awaits shared/http/lambda.ts `warm`), so its
// import includes the composition (config, store, parts, routes) and its first invocation is the
// request itself; init (import + first invocation) covers the same work as before. Functions the
// stack gives a model (profile.usesModel) get one here too: a loopback OpenAI-compatible stub
// (test/support/stub-llm.ts) as LLM_BASE_URL and EMBEDDINGS_MODEL, so their init loads and builds
// the LangChain chat and embeddings clients as deployed (before 2026-11-28 they ran the offline
// engine and the local embedder, which left that load out of the figure).
// Usage: npm run bench:cold-start [-- --keep] [-- --runs N] [-- --only a,b]
//   --keep leaves the temporary folder for inspection; --runs N (default 5) cold-starts each function
//   N times in fresh processes and reports the run with the median init, because one cold start on a
//   shared machine is mostly noise. The runs go in rounds (every function once, then again), and a
//   model function's init is also given as paired ratios to a cold start of the required components
//   run just before it. The ingestion worker runs once: a second run would redeliver an already
//   ingested document. --only names functions or bundles (`chat` is both chat functions,
//   `all-features` the baseline bundle), adds the functions they need first (documents before the
//   worker, sessions before its stream) and skips the CDK parity check.
import { spawn } from "node:child_process";
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { createRequire, isBuiltin } from "node:module";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { type BuildOptions, build, type Metafile, type Plugin } from "esbuild";
import { OCR_UNUSED_FILES, parserNodeModules } from "#infra/lib/constructs/document-parsers.ts";
import { profileFor } from "#infra/lib/features.ts";
import { signDevToken } from "#infra/local/dev-secret.ts";
import { createS3BlobStore } from "#shared/blobs/s3.ts";
import { type NodeChildOptions, runNodeChild } from "#test/support/node-child.ts";
import { startStubLlm } from "#test/support/stub-llm.ts";
import { type StubSecretsManager, startStubSecretsManager } from "#test/support/stub-secrets-manager.ts";
import { ALL_FEATURES_ENTRY_SOURCE, EMPTY_HANDLER_SOURCE } from "./cold-start/baselines.ts";
import { cdkEsbuildOptions, EMBEDDED_STORE_EXTERNALS } from "./cold-start/bundle-options.ts";
import { checkCdkParity } from "./cold-start/cdk-parity.ts";
import { restEvent } from "./cold-start/events.ts";
import { type BenchState, buildPlan, type ConfigMode, selectUnits, type Unit, UsageError } from "./cold-start/plan.ts";
import type { ProbeResult, ProbeSpec } from "./cold-start/protocol.ts";
import { type Figure, figure } from "./figures.ts";
import { median } from "./stats.ts";

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const RESULTS_FILE = join(PROJECT_ROOT, "bench", "results-cold-start.json");
/** The issue's targets. 1.5 MB is read as 1.5 MiB of index.mjs (the source map is deployed too but not loaded). */
const MAX_BUNDLE_BYTES = 1.5 * 1024 * 1024;
/** init = import of the bundle + first invocation (module evaluation plus the engine built lazily on the first request). */
const MAX_INIT_MS = 300;
const PROBE_TIMEOUT_MS = 90_000;
const JWT_SECRET = "cold-start-bench-secret-0123456789abcdef";
/** The floor of a model function: the required components alone (see the file's header). */
const REQUIRED_COMPONENTS_ENTRY = "bench/cold-start/required-components.ts";
const REQUIRED_COMPONENTS = "MongoDB driver, ChatOpenAI + OpenAIEmbeddings, Powertools, jose, OpenAPIHono";
const BENCH_USER = "bench-user";

/** One fresh process's timing of a load. */
interface FreshSample {
  wall_ms: number;
  cpu_ms: number;
}

interface BundleInfo {
  file: string;
  dir: string;
  bundle_bytes: number;
  gzip_bytes: number;
  sourcemap_bytes: number;
  build_ms: number;
  top_packages: Array<{ package: string; bytes: number }>;
  /** Modules left to the runtime (not node builtins), with how they are imported. */
  externals: Array<{ path: string; kind: string }>;
  error?: string;
}

interface UnitReport {
  function: string;
  bundle: string;
  export: string;
  config: ConfigMode;
  faiss_layer: boolean;
  memory_mb: number;
  bundle_bytes: number;
  gzip_bytes: number;
  import_ms: number | null;
  first_invoke_ms: number | null;
  second_invoke_ms: number | null;
  first_chunk_ms?: number | null;
  init_ms: number | null;
  /** CPU time (user + system) of the import and the first invocation: steadier than wall time on a loaded machine. */
  init_cpu_ms: number | null;
  peak_rss_mb: number | null;
  statuses: Array<number | string>;
  invocations: Array<{ label: string; status: number | string; ms: number; first_chunk_ms?: number; error?: string }>;
  pass: { bundle_size: boolean; init: boolean; answered: boolean };
  informational: boolean;
  note?: string;
  error?: string;
  log_tail?: string;
  /** 1-minute load average right after the probe (the machine is shared). */
  load_1m?: number | null;
  /** init (import + first invocation) of every cold start of this function, in run order. */
  init_runs_ms?: Array<number | null>;
  /** A model function's init ÷ the init of the required components' cold start run just before it, per round. */
  paired_ratio_runs?: number[];
}

const round = (value: number | undefined | null, digits = 1): number | null =>
  value === undefined || value === null ? null : Number(value.toFixed(digits));

function packageOf(input: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  return match?.[1] ?? "(engine code)";
}

/** The cloud adapter modules a function imports, replaced in the runnable bundles (see embedded-adapters.ts). */
const benchAdapters: Plugin = {
  name: "bench-embedded-adapters",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /engine\/cloud-(store|blobs|queue|adapters)\.ts$/ }, () => ({
      path: join(PROJECT_ROOT, "bench", "cold-start", "embedded-adapters.ts"),
    }));
  },
};

/**
 * The packages the CDK installs beside a bundle (left external by esbuild): the document parsers.
 * The all-features baseline reads documents too, so it leaves them beside it like the worker. A
 * feature's own streaming entry (bundle `<feature>-streaming`) gets what the feature's profile says.
 */
function installedBeside(bundle: string): readonly string[] {
  const parsesDocuments = bundle === "ingest-worker" || bundle === "all-features";
  const feature = bundle.replace(/-streaming$/, "");
  return parserNodeModules(parsesDocuments ? "documents" : profileFor(feature).profile.parses);
}

/** Bytes of the files under `dir` but those in `removed`, nested node_modules left to installedBytes. */
async function directoryBytes(dir: string, removed: ReadonlySet<string>): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.name === "node_modules" || entry.isSymbolicLink() || removed.has(path)) continue;
    total += entry.isDirectory() ? await directoryBytes(path, removed) : (await lstat(path)).size;
  }
  return total;
}

/**
 * Bytes on disk of `names` and their dependencies as installed here: what NodejsFunction installs
 * beside a bundle (the canvas binary being this machine's instead of the Lambda's, of similar size).
 */
async function installedBytes(names: readonly string[]): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const visit = async (name: string, from: string, optional: boolean): Promise<void> => {
    // Node's lookup: node_modules/<name> in `from` and each folder above it.
    let dir = from;
    let found: string | undefined;
    for (;;) {
      const candidate = join(dir, "node_modules", name);
      if (
        await stat(join(candidate, "package.json")).then(
          () => true,
          () => false,
        )
      ) {
        found = candidate;
        break;
      }
      if (dir === PROJECT_ROOT || dirname(dir) === dir) break;
      dir = dirname(dir);
    }
    if (!found) {
      if (optional) return;
      throw new Error(`${name} is not installed (needed from ${from})`);
    }
    if (seen.has(found)) return;
    seen.add(found);
    // The files the CDK removes after the install (OCR's unused engines and models).
    const removed = new Set(
      OCR_UNUSED_FILES.filter((file) => file.startsWith(`${name}/`)).map((file) =>
        join(found, file.slice(name.length + 1)),
      ),
    );
    total += await directoryBytes(found, removed);
    const manifest = JSON.parse(await readFile(join(found, "package.json"), "utf8")) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    for (const dependency of Object.keys(manifest.dependencies ?? {})) await visit(dependency, found, false);
    // Optional dependencies of other platforms (canvas binaries) are not installed.
    for (const dependency of Object.keys(manifest.optionalDependencies ?? {})) await visit(dependency, found, true);
  };
  for (const name of names) await visit(name, PROJECT_ROOT, false);
  return total;
}

/** This machine's canvas binary package (the Lambda's is unpacked by the worker's bundling). */
const CANVAS_BINARY = `@napi-rs/canvas-${process.platform}-${process.arch}${process.platform === "linux" ? "-gnu" : ""}`;

/** An entry file, or source text bundled as if it were a file at the project root. */
type Entry = string | { source: string; name: string };

async function bundleEntry(
  name: string,
  entry: Entry,
  outRoot: string,
  extraExternals: readonly string[] = [],
  plugins: Plugin[] = [],
): Promise<BundleInfo> {
  const dir = join(outRoot, name);
  const file = join(dir, "index.mjs");
  const started = performance.now();
  const empty = { file, dir, bundle_bytes: 0, gzip_bytes: 0, sourcemap_bytes: 0, top_packages: [], externals: [] };
  let metafile: Metafile | undefined;
  try {
    const options: BuildOptions = cdkEsbuildOptions(
      PROJECT_ROOT,
      typeof entry === "string" ? entry : entry.name,
      file,
      extraExternals,
    );
    if (typeof entry !== "string") {
      delete options.entryPoints;
      options.stdin = { contents: entry.source, resolveDir: PROJECT_ROOT, sourcefile: entry.name, loader: "ts" };
    }
    metafile = (await build({ ...options, plugins })).metafile;
  } catch (error) {
    return { ...empty, build_ms: performance.now() - started, error: String(error) };
  }
  const build_ms = performance.now() - started;
  const code = await readFile(file);
  const output = metafile?.outputs[relative(PROJECT_ROOT, file)];
  const byPackage = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    byPackage.set(packageOf(input), (byPackage.get(packageOf(input)) ?? 0) + bytesInOutput);
  }
  const externals = new Map<string, string>();
  for (const imported of output?.imports ?? []) {
    if (imported.external && !isBuiltin(imported.path))
      externals.set(`${imported.path} ${imported.kind}`, imported.kind);
  }
  return {
    file,
    dir,
    bundle_bytes: code.length,
    gzip_bytes: gzipSync(code).length,
    sourcemap_bytes: (await stat(`${file}.map`)).size,
    build_ms,
    top_packages: [...byPackage]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([pkg, bytes]) => ({ package: pkg, bytes })),
    externals: [...externals].map(([key, kind]) => ({ path: key.split(" ")[0] ?? key, kind })),
  };
}

/**
 * What the Lambda runtime resolves beside the bundle: the AWS SDK v3 (shipped with nodejs22.x) and,
 * when the function has the faiss layer, faiss-node, and the packages installed beside its bundle
 * (the ingestion worker's OCR).
 */
async function linkRuntimeModules(dir: string, withLayer: boolean, installed: readonly string[] = []): Promise<void> {
  const modules = join(dir, "node_modules");
  await rm(modules, { recursive: true, force: true });
  await mkdir(modules, { recursive: true });
  await symlink(join(PROJECT_ROOT, "node_modules", "@aws-sdk"), join(modules, "@aws-sdk"));
  // What NodejsFunction installs beside a bundle (the worker's OCR packages, canvas binary included).
  for (const name of [...installed, ...(installed.includes("@napi-rs/canvas") ? [CANVAS_BINARY] : [])]) {
    await mkdir(dirname(join(modules, name)), { recursive: true });
    await symlink(join(PROJECT_ROOT, "node_modules", name), join(modules, name));
  }
  if (withLayer) await symlink(join(PROJECT_ROOT, "node_modules", "faiss-node"), join(modules, "faiss-node"));
  // esbuild hoists every external import to a static one, so the runnable bundles need these even
  // when the embedded store is not used.
  for (const name of EMBEDDED_STORE_EXTERNALS) {
    await symlink(join(PROJECT_ROOT, "node_modules", name), join(modules, name));
  }
}

/** A unit's name as it goes into file and function names. */
function slugOf(unit: Unit): string {
  return unit.name.replace(/[^a-z0-9-]/g, "-");
}

function lambdaEnvironment(
  unit: Unit,
  taskRoot: string,
  dataDir: string,
  modelBaseUrl?: string,
): Record<string, string> {
  const functionName = `collabry-bench-${slugOf(unit)}`;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    TZ: "UTC",
    LANG: "en_US.UTF-8",
    AWS_LAMBDA_FUNCTION_NAME: functionName,
    AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
    // The handler setting, as Lambda passes it (the sessions bundle composes by it).
    _HANDLER: `index.${unit.exportName}`,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(unit.memoryMb),
    AWS_LAMBDA_LOG_FORMAT: "JSON",
    AWS_EXECUTION_ENV: "AWS_Lambda_nodejs22.x",
    AWS_REGION: "eu-west-1",
    AWS_DEFAULT_REGION: "eu-west-1",
    LAMBDA_TASK_ROOT: taskRoot,
    // No NODE_OPTIONS: CollabryFunction deploys the source map but runs without --enable-source-maps.
    // The variables infra/lib/stacks/api-stack.ts sets, minus bucket/queue/model (see ConfigMode).
    STAGE: "bench",
    MONGO_DB: "collabry",
    CORS_ORIGINS: "http://localhost:3000",
    POWERTOOLS_SERVICE_NAME: unit.bundle,
    POWERTOOLS_METRICS_NAMESPACE: "CollabryAI",
    LOG_LEVEL: "INFO",
    JWT_SECRET_KEY: JWT_SECRET,
    // One bench user makes ~30 AI requests within a minute: the limiter still runs, with room.
    RATE_LIMIT_CHAT_PER_MINUTE: "1000",
    RATE_LIMIT_GENERATE_PER_MINUTE: "1000",
  };
  if (unit.config === "aws" || unit.config === "aws-unreachable-mongo") {
    // Port 9 (discard) is closed here: MongoDB unreachable. Bucket and queue as deployed, never called.
    Object.assign(env, {
      MONGO_URI: "mongodb://127.0.0.1:9/collabry",
      DATA_BUCKET: "collabry-bench-data",
      INGEST_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/123456789012/collabry-bench-ingest",
    });
  }
  if (unit.config === "lambda-embedded-store") Object.assign(env, { RUNTIME: "local", DATA_DIR: dataDir });
  // What infra/lib/stacks/api-stack.ts sets for a model caller, pointed at the loopback stub.
  if (unit.config === "lambda-embedded-store" && unit.usesModel && modelBaseUrl) {
    Object.assign(env, { LLM_BASE_URL: modelBaseUrl, LLM_MODEL: "stub-model", EMBEDDINGS_MODEL: "stub-embeddings" });
  }
  return env;
}

/**
 * The Lambda environment without AWS_LAMBDA_FUNCTION_NAME (RUNTIME=aws given instead): a handler
 * module then skips the app build it awaits during Lambda's init (shared/http/lambda.ts `warm`), which
 * here would only wait on the unreachable MongoDB, so the import is the bundle's module evaluation.
 */
function moduleEvaluationEnvironment(env: Record<string, string>): Record<string, string> {
  const { AWS_LAMBDA_FUNCTION_NAME: _, ...rest } = env;
  return { ...rest, RUNTIME: "aws" };
}

async function runProbe(
  probe: string,
  spec: ProbeSpec,
  env: Record<string, string>,
  logFile: string,
): Promise<{ result?: ProbeResult; error?: string; logTail: string }> {
  const specFile = spec.resultFile.replace(/\.result\.json$/, ".spec.json");
  await writeFile(specFile, JSON.stringify(spec));
  const output: Buffer[] = [];
  const exit = await new Promise<{ code: number | null; signal: string | null }>((done) => {
    const child = spawn(process.execPath, [probe, specFile], { cwd: dirname(spec.bundle), env, stdio: "pipe" });
    const timer = setTimeout(() => child.kill("SIGKILL"), PROBE_TIMEOUT_MS);
    child.stdout.on("data", (chunk: Buffer) => output.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => output.push(chunk));
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      done({ code, signal });
    });
  });
  const log = Buffer.concat(output).toString("utf8");
  await writeFile(logFile, log);
  const logTail = log.slice(-1_500);
  try {
    return { result: JSON.parse(await readFile(spec.resultFile, "utf8")) as ProbeResult, logTail };
  } catch {
    return { error: `probe exited with code ${exit.code} signal ${exit.signal} and no result`, logTail };
  }
}

function isSuccess(status: number | string): boolean {
  return typeof status === "number" ? status >= 200 && status < 300 : status === "Allow" || status === "ok";
}

function report(unit: Unit, bundle: BundleInfo, result: ProbeResult | undefined, error?: string): UnitReport {
  const first = result?.invocations[0];
  const second = result?.invocations[1];
  const importMs = result?.import_ms;
  const initMs = importMs !== undefined && first ? importMs + first.ms : undefined;
  const statuses = result?.invocations.map((invocation) => invocation.status) ?? [];
  const failure = error ?? bundle.error ?? result?.import_error ?? first?.error;
  return {
    function: unit.name,
    bundle: unit.bundle,
    export: unit.exportName,
    config: unit.config,
    faiss_layer: unit.layer,
    memory_mb: unit.memoryMb,
    bundle_bytes: bundle.bundle_bytes,
    gzip_bytes: bundle.gzip_bytes,
    import_ms: round(importMs),
    first_invoke_ms: round(first?.ms),
    second_invoke_ms: round(second?.ms),
    ...(unit.streaming ? { first_chunk_ms: round(first?.first_chunk_ms) } : {}),
    init_ms: round(initMs),
    init_cpu_ms: round(
      result?.import_cpu_ms !== undefined && first?.cpu_ms !== undefined
        ? result.import_cpu_ms + first.cpu_ms
        : undefined,
    ),
    peak_rss_mb: round(result?.peak_rss_mb),
    statuses,
    invocations: (result?.invocations ?? []).map((invocation) => ({
      label: invocation.label,
      status: invocation.status,
      ms: round(invocation.ms) ?? 0,
      ...(invocation.first_chunk_ms === undefined ? {} : { first_chunk_ms: round(invocation.first_chunk_ms) ?? 0 }),
      ...(invocation.error ? { error: invocation.error } : {}),
      ...(!isSuccess(invocation.status) && invocation.body ? { error: invocation.body.slice(0, 300) } : {}),
    })),
    pass: {
      bundle_size: bundle.bundle_bytes > 0 && bundle.bundle_bytes <= MAX_BUNDLE_BYTES,
      init: initMs !== undefined && initMs <= MAX_INIT_MS,
      answered: statuses.length > 0 && statuses.every(isSuccess),
    },
    informational: unit.informational,
    ...(unit.note ? { note: unit.note } : {}),
    ...(failure ? { error: failure } : {}),
  };
}

/** The secret both paths below fetch, and the credentials the loopback Secrets Manager checks their signatures with. */
const BENCH_SECRET_ID = "collabry/bench/jwt";
const BENCH_AWS_CREDENTIALS = {
  accessKeyId: "ASIABENCHKEY",
  secretAccessKey: "bench-secret-access-key",
  sessionToken: "bench-session-token",
};

/** The environment Lambda gives a function (credentials, region), pointed at the loopback Secrets Manager. */
function secretsEnvironment(stub: StubSecretsManager): NodeJS.ProcessEnv {
  return {
    AWS_REGION: stub.region,
    AWS_ACCESS_KEY_ID: BENCH_AWS_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: BENCH_AWS_CREDENTIALS.secretAccessKey,
    AWS_SESSION_TOKEN: BENCH_AWS_CREDENTIALS.sessionToken,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: stub.url,
    BENCH_SECRET_ID,
  };
}

/**
 * A timed body, after what every function has done by its first secret fetch: loading Node's fetch
 * classes during init (shared/engine/lambda-init.ts), which aws4fetch's signer uses for its headers.
 */
const TIMED = (body: string) => `new Request("http://localhost/");
const start = performance.now(); const cpu = process.cpuUsage();
${body}
const used = process.cpuUsage(cpu);
process.stdout.write(JSON.stringify({ wall_ms: performance.now() - start, cpu_ms: (used.user + used.system) / 1000 }));`;

/** One fresh `node` process running a timed body (TIMED, STAND_IN_SOURCE): the figures it prints. */
async function freshSample(args: readonly string[], options: NodeChildOptions): Promise<FreshSample> {
  return JSON.parse(await runNodeChild(args, options)) as FreshSample;
}

/**
 * A deployed function's first secret by reference, in a fresh process each run, fetched from a
 * loopback Secrets Manager that checks signatures: the engine's path, bundled with the CDK's
 * options (Powertools' provider, signed by aws4fetch with the credentials Lambda sets), and the
 * AWS SDK's (the runtime's @aws-sdk/client-secrets-manager from node_modules beside a bundle, as
 * Lambda's runtime provides it: import, client, GetSecretValue). Every function given its secrets
 * by reference pays this at its cold start (the JWT secret at least), which the runs above, given
 * values, do not show.
 */
async function firstSecretFetch(
  work: string,
  sdkDir: string,
  runs: number,
): Promise<{ engine: FreshSample[]; sdk: FreshSample[] } | { error: string }> {
  const bundle = await bundleEntry(
    "first-secret",
    {
      name: "first-secret.ts",
      source: TIMED(`const { resolveSecret } = await import("#shared/config/secrets.ts");
const value = await resolveSecret("JWT_SECRET_KEY", undefined, process.env.BENCH_SECRET_ID);
if (!value) throw new Error("no secret");`),
    },
    join(work, "bundles"),
  );
  if (bundle.error) return { error: bundle.error };
  await linkRuntimeModules(bundle.dir, false);
  const sdkSource = TIMED(`const sdk = await import("@aws-sdk/client-secrets-manager");
const client = new sdk.SecretsManagerClient({});
const result = await client.send(new sdk.GetSecretValueCommand({ SecretId: process.env.BENCH_SECRET_ID }));
if (!result.SecretString) throw new Error("no secret");`);
  const stub = await startStubSecretsManager({
    credentials: BENCH_AWS_CREDENTIALS,
    secrets: { [BENCH_SECRET_ID]: JSON.stringify({ value: "cold-start-bench-secret-0123456789abcdef" }) },
  });
  try {
    const env = secretsEnvironment(stub);
    const engine: FreshSample[] = [];
    const sdk: FreshSample[] = [];
    for (let run = 0; run < runs; run++) {
      engine.push(await freshSample([bundle.file], { cwd: bundle.dir, label: "first secret (engine)", env }));
      sdk.push(
        await freshSample(["--input-type=module", "-e", sdkSource], { cwd: sdkDir, label: "first secret (SDK)", env }),
      );
    }
    if (stub.requests.some((request) => request.status !== 200)) {
      return { error: `the loopback Secrets Manager refused: ${JSON.stringify(stub.requests.slice(0, 3))}` };
    }
    return { engine, sdk };
  } finally {
    await stub.close();
  }
}

const BENCH_BUCKET = "collabry-bench";
const BENCH_BLOB_KEY = "indexes/bench-user/source/v1/chunks.json";

/** s3rver's part the bench uses. */
type LoopbackS3Server = { run(): Promise<{ port: number }>; close(): Promise<void> };

/**
 * A deployed function's first blob read after a cold start: a query function's first retrieval
 * over stored documents (shards or a library index), the worker's first message. Through the
 * engine's S3 blob store (shared/blobs/s3.ts), bundled with the CDK's options, over the runtime's
 * S3 client from node_modules beside the bundle, in a fresh process each run, against s3rver on
 * loopback holding one 64 KiB object. The bench's functions read filesystem blobs, so none of the
 * inits above holds this.
 */
async function firstBlobRead(work: string, runs: number): Promise<FreshSample[] | { error: string }> {
  const bundle = await bundleEntry(
    "first-blob-read",
    {
      name: "first-blob-read.ts",
      source: TIMED(`const { createS3BlobStore } = await import("#shared/blobs/s3.ts");
const blobs = createS3BlobStore({
  bucket: process.env.BENCH_BUCKET,
  endpoint: process.env.BENCH_S3_ENDPOINT,
  forcePathStyle: true,
  region: "eu-west-1",
  credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
});
const bytes = await blobs.get(process.env.BENCH_BLOB_KEY);
if (!bytes || bytes.length === 0) throw new Error("no blob");`),
    },
    join(work, "bundles"),
  );
  if (bundle.error) return { error: bundle.error };
  await linkRuntimeModules(bundle.dir, false);
  const directory = await mkdtemp(join(tmpdir(), "collabry-bench-s3-"));
  const S3rver = createRequire(import.meta.url)("s3rver") as new (options: Record<string, unknown>) => LoopbackS3Server;
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: BENCH_BUCKET }],
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await createS3BlobStore({
      bucket: BENCH_BUCKET,
      endpoint,
      forcePathStyle: true,
      region: "eu-west-1",
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    }).put(BENCH_BLOB_KEY, new Uint8Array(64 * 1024).fill(0x61));
    const samples: FreshSample[] = [];
    for (let run = 0; run < runs; run++) {
      samples.push(
        await freshSample([bundle.file], {
          cwd: bundle.dir,
          label: "first blob read",
          env: { BENCH_BUCKET, BENCH_S3_ENDPOINT: endpoint, BENCH_BLOB_KEY },
        }),
      );
    }
    return samples;
  } finally {
    await server.close();
    await rm(directory, { recursive: true, force: true });
  }
}

/**
 * The embedded store standing in for MongoDB in the runnable bundles: the store's module with
 * better-sqlite3, a new SQLite file and the indexes every function ensures, timed in a fresh process
 * each run after the MongoDB driver (which a deployed bundle evaluates too) is loaded. Bench-only
 * work inside every init above; a deployed function connects to MongoDB instead.
 */
const STAND_IN_SOURCE = `import { MongoClient } from "mongodb";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
if (typeof MongoClient !== "function") throw new Error("MongoDB driver missing");
const dir = mkdtempSync(join(tmpdir(), "collabry-stand-in-"));
const start = performance.now();
const cpu = process.cpuUsage();
const { openEmbeddedStore } = await import("#shared/store/embedded.ts");
const { ensureRateLimitIndexes } = await import("#shared/limits/rate-limit.ts");
const { ensureUsageIndexes } = await import("#shared/usage/ledger.ts");
const store = await openEmbeddedStore({ dir });
await Promise.all([ensureRateLimitIndexes(store), ensureUsageIndexes(store)]);
const used = process.cpuUsage(cpu);
process.stdout.write(JSON.stringify({ wall_ms: performance.now() - start, cpu_ms: (used.user + used.system) / 1000 }));
await store.close();
rmSync(dir, { recursive: true, force: true });
`;

async function standInLoad(bundle: BundleInfo, runs: number): Promise<FreshSample[]> {
  await linkRuntimeModules(bundle.dir, false);
  const samples: FreshSample[] = [];
  for (let run = 0; run < runs; run++) {
    samples.push(await freshSample([bundle.file], { cwd: bundle.dir, label: "embedded stand-in load" }));
  }
  return samples;
}

/** The paired ratios of a model function's cold starts to the required components' run just before each. */
function pairedNote(ratios: number[] | undefined): string {
  if (!ratios || ratios.length === 0) return "";
  return `÷ the required components' cold start run just before it: median ×${median(ratios)} (×${Math.min(...ratios)}–×${Math.max(...ratios)}); `;
}

async function main(): Promise<void> {
  const keep = process.argv.includes("--keep");
  const runsArgument = process.argv.indexOf("--runs");
  // Five: with three, one slow or fast cold start in a pair of similar ones decided the median (chat
  // 391 / 552 / 563 ms in one run).
  const runs = runsArgument === -1 ? 5 : Number(process.argv[runsArgument + 1]);
  if (!Number.isInteger(runs) || runs < 1) throw new UsageError("--runs takes a positive integer");
  const onlyArgument = process.argv.indexOf("--only");
  const only =
    onlyArgument === -1 ? undefined : (process.argv[onlyArgument + 1] ?? "").split(",").filter((name) => name !== "");
  if (only?.length === 0) throw new UsageError("--only takes a comma-separated list of functions or bundles");
  const withAllFeatures = !only || only.includes("all-features");
  const plan = only
    ? selectUnits(
        buildPlan(),
        // The floor and the required components run in every selection.
        only.filter((name) => name !== "all-features" && name !== "floor" && name !== "required-components"),
      )
    : buildPlan();
  const work = await mkdtemp(join(tmpdir(), "collabry-cold-start-"));
  const dataDir = join(work, "data");
  await mkdir(join(work, "probes"), { recursive: true });
  await mkdir(dataDir, { recursive: true });
  const model = await startStubLlm();
  try {
    const probe = join(work, "probe.mjs");
    await build({
      entryPoints: [join(PROJECT_ROOT, "bench", "cold-start", "probe.ts")],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      outfile: probe,
      logLevel: "silent",
    });

    const entries = new Map(plan.map((unit) => [unit.bundle, unit.entry]));
    // Exact CDK bundles (sizes, parity) and the runnable ones (see EMBEDDED_STORE_EXTERNALS), one
    // build at a time (concurrent builds of these graphs stalled esbuild on a loaded machine).
    const exact = new Map<string, BundleInfo>();
    const runnable = new Map<string, BundleInfo>();
    for (const [name, entry] of entries) {
      exact.set(name, await bundleEntry(name, entry, join(work, "bundles-cdk"), installedBeside(name)));
      runnable.set(
        name,
        await bundleEntry(
          name,
          entry,
          join(work, "bundles"),
          [...EMBEDDED_STORE_EXTERNALS, ...installedBeside(name)],
          [benchAdapters],
        ),
      );
    }
    const bundles = exact;
    const besideBytes = new Map<string, number>();
    for (const [name] of entries) besideBytes.set(name, await installedBytes(installedBeside(name)));
    // Baselines measured in the same run: the floor (an empty handler) and the bundle every function
    // had before per-feature composition (the whole engine and every route).
    const floorBundle = await bundleEntry(
      "floor",
      { source: EMPTY_HANDLER_SOURCE, name: "empty-handler.ts" },
      join(work, "bundles"),
    );
    // Bundled exactly as deployed (no cloud adapter to swap), so one build is both size and probe.
    const requiredBundle = await bundleEntry(
      "required-components",
      REQUIRED_COMPONENTS_ENTRY,
      join(work, "bundles-cdk"),
    );
    const allFeatures = { source: ALL_FEATURES_ENTRY_SOURCE, name: "all-features.ts" };
    const allFeaturesExact = withAllFeatures
      ? await bundleEntry("all-features", allFeatures, join(work, "bundles-cdk"), installedBeside("all-features"))
      : undefined;
    const allFeaturesRunnable = withAllFeatures
      ? await bundleEntry("all-features", allFeatures, join(work, "bundles"), [
          ...EMBEDDED_STORE_EXTERNALS,
          ...installedBeside("all-features"),
        ])
      : undefined;
    for (const [name, info] of exact) {
      process.stderr.write(
        `bundled ${name}: ${info.bundle_bytes} bytes (runnable ${runnable.get(name)?.bundle_bytes})\n`,
      );
    }

    const parity = only
      ? "skipped (--only)"
      : await checkCdkParity({
          projectRoot: PROJECT_ROOT,
          entry: "functions/meta/handler.ts",
          outdir: join(work, "cdk.out"),
          bundle: async () => (await bundleEntry("meta", "functions/meta/handler.ts", join(work, "parity"))).file,
        });
    process.stderr.write(`CDK parity: ${JSON.stringify(parity)}\n`);

    const state: BenchState = { token: await signDevToken(JWT_SECRET, { userId: BENCH_USER }), userId: BENCH_USER };
    const reports: UnitReport[] = [];
    const baselineUnit = (name: string, bundle: string, config: ConfigMode, note: string): Unit => ({
      name,
      bundle,
      entry: `${bundle}.ts`,
      exportName: "handler",
      streaming: false,
      layer: false,
      usesModel: false,
      memoryMb: 512,
      config,
      informational: true,
      note,
      invocations: () => [
        { label: "GET /health", event: restEvent({ method: "GET", path: "/health" }) },
        { label: "GET /health", event: restEvent({ method: "GET", path: "/health" }) },
      ],
    });
    exact.set("floor", floorBundle);
    runnable.set("floor", floorBundle);
    exact.set("required-components", requiredBundle);
    runnable.set("required-components", requiredBundle);
    if (allFeaturesExact) exact.set("all-features", allFeaturesExact);
    if (allFeaturesRunnable) runnable.set("all-features", allFeaturesRunnable);
    const baselines = [
      baselineUnit(
        "floor",
        "floor",
        "aws",
        "an empty handler: Node's own module load and one call (the physical floor)",
      ),
      baselineUnit(
        "all-features",
        "all-features",
        "lambda-embedded-store",
        "before per-feature composition: the whole engine and every route in one bundle",
      ),
      {
        ...baselineUnit(
          "required-components",
          "required-components",
          "lambda-embedded-store",
          `the floor of a model function: only the components it must have (${REQUIRED_COMPONENTS}), each used; one request verifies the token, validates the body and streams the stub model's answer`,
        ),
        usesModel: true,
        invocations: (bench: BenchState) =>
          [1, 2].map(() => ({
            label: "POST /ask (JWT, zod body, ChatOpenAI stream)",
            event: restEvent({
              method: "POST",
              path: "/ask",
              token: bench.token,
              body: { message: "What is RuBisCO?" },
            }),
          })),
      },
    ];
    const load: number[] = [loadavg()[0] ?? 0];
    type Outcome = Awaited<ReturnType<typeof runProbe>>;
    interface Running {
      unit: Unit;
      bundle: BundleInfo;
      dir: string;
      file: string;
      /** Built when the unit first runs: its invocations may need what an earlier unit left in `state`. */
      spec?: ProbeSpec;
      env?: Record<string, string>;
      /** One per round; undefined for a round the unit sat out (the ingestion worker runs once). */
      outcomes: Array<Outcome | undefined>;
      /** A model function's partner in each round: the required components' cold start run just before it. */
      partners: Array<Outcome | undefined>;
      /** The 1-minute load average after each of its runs. */
      loads: number[];
    }
    const running: Running[] = [];
    for (const unit of [...baselines, ...plan]) {
      const bundle = bundles.get(unit.bundle);
      const runnableBundle = unit.exact ? bundle : runnable.get(unit.bundle);
      if (!bundle || !runnableBundle) continue;
      if (bundle.error || runnableBundle.error) {
        reports.push(report(unit, bundle, undefined, runnableBundle.error));
        continue;
      }
      await linkRuntimeModules(runnableBundle.dir, unit.layer, installedBeside(unit.bundle));
      running.push({
        unit,
        bundle,
        dir: runnableBundle.dir,
        file: runnableBundle.file,
        outcomes: [],
        partners: [],
        loads: [],
      });
    }
    /** Cold-starts `entry` once; `label` names the run's result and log files. */
    const coldStart = async (entry: Running, label: string): Promise<Outcome> => {
      const { unit } = entry;
      const slug = slugOf(unit);
      entry.spec ??= {
        bundle: entry.file,
        exportName: unit.exportName,
        streaming: unit.streaming,
        functionName: `collabry-bench-${slug}`,
        memoryMb: unit.memoryMb,
        invocations: unit.invocations(state),
        resultFile: join(work, "probes", `${slug}.result.json`),
      };
      entry.env ??= lambdaEnvironment(unit, entry.dir, dataDir, model.baseUrl);
      if (unit.modelTokens) model.setBehaviour({ tokens: unit.modelTokens });
      return runProbe(
        probe,
        { ...entry.spec, resultFile: join(work, "probes", `${slug}-${label}.result.json`) },
        entry.env,
        join(work, "probes", `${slug}-${label}.log`),
      );
    };
    const requiredEntry = running.find((entry) => entry.unit.name === "required-components");
    // Rounds: one cold start of every function per round, so that a slow spell of this shared machine
    // (its speed varies by 15-40 % within minutes) falls on every function alike instead of on the five
    // runs of one. Each model function's run is paired with a cold start of the required components
    // run just before it: seconds apart, the two see the same machine.
    for (let roundIndex = 0; roundIndex < runs; roundIndex++) {
      for (const entry of running) {
        const { unit } = entry;
        if (roundIndex > 0 && unit.name === "ingest-worker") {
          entry.outcomes.push(undefined);
          continue;
        }
        const paired = unit.usesModel && requiredEntry && entry !== requiredEntry;
        entry.partners.push(
          paired ? await coldStart(requiredEntry, `${roundIndex}-before-${slugOf(unit)}`) : undefined,
        );
        const outcome = await coldStart(entry, String(roundIndex));
        if (roundIndex === 0 && outcome.result) unit.after?.(outcome.result, state);
        entry.outcomes.push(outcome);
        entry.loads.push(loadavg()[0] ?? 0);
      }
      load.push(loadavg()[0] ?? 0);
    }
    const initOf = (outcome: Outcome | undefined) => {
      const first = outcome?.result?.invocations[0];
      const importMs = outcome?.result?.import_ms;
      return importMs !== undefined && first && !first.error ? importMs + first.ms : undefined;
    };
    for (const { unit, bundle, outcomes: rounds, partners, loads } of running) {
      const outcomes = rounds.filter((outcome): outcome is Outcome => outcome !== undefined);
      // The run with the median init stands for the function; a failed run is reported instead.
      const failed = outcomes.find((candidate) => initOf(candidate) === undefined);
      const ranked = [...outcomes].sort((a, b) => (initOf(a) ?? 0) - (initOf(b) ?? 0));
      const outcome = failed ?? ranked[Math.floor((ranked.length - 1) / 2)] ?? outcomes[0];
      if (!outcome) continue;
      const unitReport = report(unit, bundle, outcome.result, outcome.error);
      unitReport.init_runs_ms = outcomes.map((candidate) => round(initOf(candidate)));
      if (partners.some((partner) => partner !== undefined)) {
        const ratios = rounds.flatMap((candidate, index) => {
          const init = initOf(candidate);
          const floor = initOf(partners[index]);
          return init !== undefined && floor !== undefined ? [init / floor] : [];
        });
        if (ratios.length > 0) unitReport.paired_ratio_runs = ratios.map((ratio) => round(ratio, 2) ?? 0);
      }
      unitReport.load_1m = round(median(loads), 2);
      if (unitReport.error || !unitReport.pass.answered) unitReport.log_tail = outcome.logTail;
      reports.push(unitReport);
      process.stderr.write(
        `${unit.name}: import ${unitReport.import_ms} ms, first ${unitReport.first_invoke_ms} ms (init of each run ${unitReport.init_runs_ms.join(" / ")} ms, CPU ${unitReport.init_cpu_ms} ms${unitReport.paired_ratio_runs ? `; ÷ required components run just before ×${unitReport.paired_ratio_runs.join(" / ×")}` : ""}), statuses ${unitReport.statuses.join(",")}${unitReport.error ? `, error ${unitReport.error}` : ""}\n`,
      );
    }

    // The deployed bundles themselves (MongoDB driver, AWS SDK clients), imported without a call:
    // the runs above use the runnable bundles, whose cloud adapters are swapped for embedded ones.
    const deployedImport = new Map<
      string,
      { import_ms: number | null; peak_rss_mb: number | null; import_runs_ms: Array<number | null>; error?: string }
    >();
    for (const [name] of entries) {
      const info = exact.get(name);
      if (!info || info.error) continue;
      const layer = plan.some((unit) => unit.bundle === name && unit.layer);
      await linkRuntimeModules(info.dir, layer, installedBeside(name));
      const unit: Unit = { ...baselineUnit(`${name}@deployed-import`, name, "aws", ""), invocations: () => [] };
      const slug = `${name}-deployed-import`;
      // The export a function of this bundle runs (a streaming entry of its own has only `streamingHandler`).
      const exportName = plan.find((candidate) => candidate.bundle === name)?.exportName ?? "handler";
      const imports: Array<Awaited<ReturnType<typeof runProbe>>> = [];
      for (let run = 0; run < runs; run++) {
        imports.push(
          await runProbe(
            probe,
            {
              bundle: info.file,
              exportName,
              streaming: exportName === "streamingHandler",
              functionName: `collabry-bench-${slug}`,
              memoryMb: 512,
              invocations: [],
              resultFile: join(work, "probes", `${slug}-${run}.result.json`),
            },
            moduleEvaluationEnvironment(lambdaEnvironment(unit, info.dir, dataDir)),
            join(work, "probes", `${slug}-${run}.log`),
          ),
        );
      }
      const failed = imports.find((candidate) => candidate.error ?? candidate.result?.import_error);
      const ranked = [...imports].sort((a, b) => (a.result?.import_ms ?? 0) - (b.result?.import_ms ?? 0));
      const outcome = failed ?? ranked[Math.floor((ranked.length - 1) / 2)] ?? imports[0];
      if (!outcome) continue;
      const error = outcome.error ?? outcome.result?.import_error;
      deployedImport.set(name, {
        import_ms: round(outcome.result?.import_ms),
        peak_rss_mb: round(outcome.result?.peak_rss_mb),
        import_runs_ms: imports.map((candidate) => round(candidate.result?.import_ms)),
        ...(error ? { error } : {}),
      });
      process.stderr.write(
        `${name} (deployed bundle): import ${round(outcome.result?.import_ms)} ms (runs ${deployedImport.get(name)?.import_runs_ms.join(" / ")})\n`,
      );
    }

    const metaBundle = exact.get("meta");
    const firstSecret =
      metaBundle && !metaBundle.error
        ? await firstSecretFetch(work, metaBundle.dir, runs).catch((error: unknown) => ({ error: String(error) }))
        : undefined;
    if (firstSecret && "error" in firstSecret) process.stderr.write(`first secret fetch: ${firstSecret.error}\n`);
    const firstBlob = await firstBlobRead(work, runs).catch((error: unknown) => ({ error: String(error) }));
    if ("error" in firstBlob) process.stderr.write(`first blob read: ${firstBlob.error}\n`);
    const standInBundle = await bundleEntry(
      "embedded-stand-in",
      { source: STAND_IN_SOURCE, name: "embedded-stand-in.ts" },
      join(work, "bundles"),
      EMBEDDED_STORE_EXTERNALS,
    );
    const standIn = standInBundle.error
      ? { error: standInBundle.error }
      : await standInLoad(standInBundle, runs).catch((error: unknown) => ({ error: String(error) }));
    if ("error" in standIn) process.stderr.write(`embedded stand-in load: ${standIn.error}\n`);

    const held = reports.filter((entry) => !entry.informational);
    const floor = reports.find((entry) => entry.function === "floor");
    const before = reports.find((entry) => entry.function === "all-features");
    const required = reports.find((entry) => entry.function === "required-components");
    const mib = (bytes: number) => Number((bytes / 1024 / 1024).toFixed(3));
    const largest = (info: BundleInfo, count = 3) =>
      info.top_packages
        .slice(0, count)
        .map((entry) => `${entry.package} ${Math.round(entry.bytes / 1024)} KiB`)
        .join(", ");
    const requiredMib = requiredBundle.error ? null : mib(requiredBundle.bundle_bytes);
    const allFeaturesMib = allFeaturesExact && !allFeaturesExact.error ? mib(allFeaturesExact.bundle_bytes) : null;
    // An API function the stack gives a model is measured against the required components alone
    // (what it cannot go below); the others, which need fewer of them (the ingestion worker has
    // embeddings but no chat model and no routes), against the all-features bundle.
    const modelBundle = (bundle: string) =>
      bundle !== "ingest-worker" && plan.some((unit) => unit.bundle === bundle && unit.usesModel);
    const figures: Figure[] = [
      figure({
        id: "cold_start.required_components.bundle_mib",
        label: `bundle size, required components only (${REQUIRED_COMPONENTS})`,
        unit: "MiB",
        value: requiredMib,
        better: "lower",
        target: { op: "<=", value: MAX_BUNDLE_BYTES / 1024 / 1024 },
        note: requiredBundle.error
          ? requiredBundle.error.slice(0, 200)
          : `the baseline of the model functions' bundles; largest: ${largest(requiredBundle, 8)}`,
      }),
      figure({
        id: "cold_start.required_components.init_ms",
        label: "init (import + first invocation), required components only",
        unit: "ms",
        value: required?.init_ms,
        better: "lower",
        baseline: { label: "empty handler (floor)", value: floor?.init_ms },
        target: { op: "<=", value: MAX_INIT_MS },
        note: required
          ? `median of ${required.init_runs_ms?.length ?? 1} cold starts (${required.init_runs_ms?.join(" / ") ?? "n/a"} ms): import ${required.import_ms} ms + first ${required.first_invoke_ms} ms, a request that verifies a JWT, validates its body and streams the stub model's answer (CPU ${required.init_cpu_ms} ms); statuses ${required.statuses.join(",")}; load ${required.load_1m}${required.error ? `; ${required.error.slice(0, 200)}` : ""}`
          : "not run",
      }),
    ];
    for (const [name] of entries) {
      const info = exact.get(name);
      if (!info) continue;
      const withModel = modelBundle(name);
      const notes = [
        ...(info.top_packages[0] ? [`largest: ${largest(info)}`] : []),
        ...(withModel ? [`all-features bundle ${allFeaturesMib ?? "n/a"} MiB`] : []),
      ];
      figures.push(
        figure({
          id: `cold_start.${name}.bundle_mib`,
          label: `bundle size, ${name}`,
          unit: "MiB",
          value: info.error ? null : mib(info.bundle_bytes),
          better: "lower",
          baseline: withModel
            ? { label: "required components only", value: requiredMib }
            : { label: "all-features bundle (before per-feature composition)", value: allFeaturesMib },
          target: { op: "<=", value: MAX_BUNDLE_BYTES / 1024 / 1024 },
          ...(notes.length > 0 ? { note: notes.join("; ") } : {}),
        }),
      );
    }
    for (const entry of held) {
      const withModel = modelBundle(entry.bundle);
      figures.push(
        figure({
          id: `cold_start.${entry.function}.init_ms`,
          label: `init (import + first invocation), ${entry.function}`,
          unit: "ms",
          value: entry.init_ms,
          better: "lower",
          baseline: withModel
            ? { label: "required components only", value: required?.init_ms }
            : { label: "empty handler (floor)", value: floor?.init_ms },
          target: { op: "<=", value: MAX_INIT_MS },
          note: `median of ${entry.init_runs_ms?.length ?? 1} cold starts (${entry.init_runs_ms?.join(" / ") ?? "n/a"} ms): import ${entry.import_ms} ms + first ${entry.first_invoke_ms} ms (CPU ${entry.init_cpu_ms} ms); ${pairedNote(entry.paired_ratio_runs)}load ${entry.load_1m}; ${withModel ? `empty handler ${floor?.init_ms ?? "n/a"} ms, ` : ""}all-features bundle init ${before?.init_ms ?? "n/a"} ms`,
        }),
        figure({
          id: `cold_start.${entry.function}.peak_rss_mb`,
          label: `peak RSS after two invocations, ${entry.function}`,
          unit: "MB",
          value: entry.peak_rss_mb,
          better: "lower",
          baseline: { label: "empty handler (floor)", value: floor?.peak_rss_mb },
        }),
      );
    }
    for (const [name] of entries) {
      const info = exact.get(name);
      const beside = besideBytes.get(name) ?? 0;
      if (!info || info.error || beside === 0) continue;
      figures.push(
        figure({
          id: `cold_start.${name}.deployed_asset_mib`,
          label: `deployed asset size (bundle, source map, packages installed beside it), ${name}`,
          unit: "MiB",
          value: mib(info.bundle_bytes + info.sourcemap_bytes + beside),
          better: "lower",
          note: `installed beside the bundle, loaded on first use: ${installedBeside(name).join(", ")} with their dependencies, ${mib(beside)} MiB`,
        }),
      );
    }
    for (const [name, measured] of deployedImport) {
      figures.push(
        figure({
          id: `cold_start.${name}.deployed_import_ms`,
          label: `import of the deployed bundle (cloud adapters), ${name}`,
          unit: "ms",
          value: measured.import_ms,
          better: "lower",
          baseline: { label: "empty handler import (floor)", value: floor?.import_ms },
          note: measured.error
            ? measured.error.slice(0, 200)
            : `median of ${measured.import_runs_ms.length} imports (${measured.import_runs_ms.join(" / ")} ms)`,
        }),
      );
    }
    /** A load timed in fresh processes: the median wall time, every run and the CPU median in the note. */
    const freshProcessFigure = (
      id: string,
      label: string,
      samples: FreshSample[],
      what: string,
      after: string,
      baseline: { label: string; samples: FreshSample[] } | undefined = undefined,
    ): Figure => {
      const walls = samples.map((sample) => sample.wall_ms);
      const cpuMedian = (of: FreshSample[]) => round(median(of.map((sample) => sample.cpu_ms)));
      return figure({
        id,
        label,
        unit: "ms",
        value: round(median(walls)),
        better: "lower",
        baseline: baseline
          ? { label: baseline.label, value: round(median(baseline.samples.map((sample) => sample.wall_ms))) }
          : { label: "empty handler import (floor)", value: floor?.import_ms },
        note: `median of ${walls.length} fresh processes ${what} (${walls.map((value) => round(value)).join(" / ")} ms; CPU median ${cpuMedian(samples)} ms${baseline ? `, baseline's ${cpuMedian(baseline.samples)} ms` : ""})${after}`,
      });
    };
    if (firstSecret && !("error" in firstSecret)) {
      figures.push(
        freshProcessFigure(
          "cold_start.first_secret_ms",
          "first secret by reference, a deployed function's cold start (not in the inits above)",
          firstSecret.engine,
          "through the engine's bundled path (Powertools provider, aws4fetch-signed GetSecretValue) to a loopback Secrets Manager that checks signatures",
          "; the loopback round trip included, Secrets Manager's own latency not",
          { label: "AWS SDK client (runtime's, imported, created, GetSecretValue)", samples: firstSecret.sdk },
        ),
      );
    }
    if (Array.isArray(firstBlob) && firstBlob.length > 0) {
      figures.push(
        freshProcessFigure(
          "cold_start.first_blob_read_ms",
          "first blob read from S3 after a deployed cold start: a query function's first retrieval, the worker's first message (not in the inits above)",
          firstBlob,
          "through the engine's S3 blob store over the runtime's SDK client (import, client, GetObject of 64 KiB) from s3rver on loopback",
          "; the functions above read filesystem blobs",
        ),
      );
    }
    if (Array.isArray(standIn) && standIn.length > 0) {
      figures.push(
        freshProcessFigure(
          "cold_start.embedded_stand_in_ms",
          "embedded store standing in for MongoDB in the runs above (module, better-sqlite3, new file, indexes; bench only)",
          standIn,
          "timed after the MongoDB driver is loaded",
          ": part of every init above, where a deployed function connects to MongoDB instead",
        ),
      );
    }
    const unreachable = reports.find((entry) => entry.function === "meta@unreachable-mongo");
    if (unreachable) {
      figures.push(
        figure({
          id: "cold_start.meta.unreachable_mongo.health_ms",
          label: "GET /health with MongoDB down (deployed meta bundle, first invocation)",
          unit: "ms",
          value: unreachable.first_invoke_ms,
          better: "lower",
          baseline: {
            label: "GET /health, embedded store up",
            value: reports.find((entry) => entry.function === "meta")?.first_invoke_ms,
          },
          note: `statuses ${unreachable.statuses.join(",")}`,
        }),
      );
    }
    const summary = {
      functions: held.length,
      bundle_size_pass: held.filter((entry) => entry.pass.bundle_size).length,
      init_pass: held.filter((entry) => entry.pass.init).length,
      answered: held.filter((entry) => entry.pass.answered).length,
      all_pass: held.every((entry) => entry.pass.bundle_size && entry.pass.init && entry.pass.answered),
      largest_bundle: [...held].sort((a, b) => b.bundle_bytes - a.bundle_bytes)[0]?.function ?? null,
      slowest_init:
        [...held].filter((entry) => entry.init_ms !== null).sort((a, b) => (b.init_ms ?? 0) - (a.init_ms ?? 0))[0]
          ?.function ?? null,
      failures: held.filter((entry) => entry.error || !entry.pass.answered).map((entry) => entry.function),
    };
    const results = {
      generated_at: new Date().toISOString(),
      node: process.version,
      deployed_runtime: "nodejs22.x (bundles target node22; measured on this machine's node)",
      targets: {
        max_bundle_bytes: MAX_BUNDLE_BYTES,
        max_init_ms: MAX_INIT_MS,
        init_definition:
          "import_ms + first_invoke_ms, measured in a fresh node process (Lambda's own runtime start and code download excluded)",
      },
      configs: {
        aws: "Lambda environment, RUNTIME=aws (detected), JWT_SECRET_KEY set, MONGO_URI set but never contacted",
        "lambda-embedded-store":
          "Lambda environment with RUNTIME=local: embedded store in a temp DATA_DIR, filesystem blobs, in-process queue; functions with a model (profile.usesModel) get chat and embeddings from a loopback OpenAI-compatible stub, the others the offline engine and local embedder; metrics disabled",
        "aws-unreachable-mongo": "RUNTIME=aws with MONGO_URI on a closed port (informational)",
      },
      runtime_modules:
        "node_modules beside each bundle holds only @aws-sdk (the runtime's), faiss-node when the function has the faiss layer, the packages the CDK installs beside it (installed_beside: the document parsers of the functions that read documents or web pages), and better-sqlite3 and mingo (bench-only: the embedded store of the runnable bundles loads them from there, see bench/cold-start/bundle-options.ts)",
      cdk_parity: parity,
      bundles: Object.fromEntries(
        [...bundles].map(([name, info]) => [
          name,
          {
            bundle_bytes: info.bundle_bytes,
            gzip_bytes: info.gzip_bytes,
            sourcemap_bytes: info.sourcemap_bytes,
            runnable_bundle_bytes: runnable.get(name)?.bundle_bytes ?? null,
            installed_beside: installedBeside(name),
            installed_beside_bytes: besideBytes.get(name) ?? 0,
            deployed_asset_bytes: info.bundle_bytes + info.sourcemap_bytes + (besideBytes.get(name) ?? 0),
            build_ms: round(info.build_ms, 0),
            top_packages: info.top_packages,
            externals: info.externals,
            ...(info.error ? { error: info.error } : {}),
          },
        ]),
      ),
      deployed_import: Object.fromEntries(deployedImport),
      load_1m: { min: round(Math.min(...load), 2), max: round(Math.max(...load), 2) },
      functions: reports,
      summary,
      figures,
    };
    const json = JSON.stringify(results, null, 2);
    await writeFile(RESULTS_FILE, `${json}\n`);
    process.stdout.write(`${json}\n`);
  } finally {
    await model.close();
    if (keep) process.stderr.write(`kept ${work}\n`);
    else await rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`[bench:cold-start] ${error.message}\n`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(
    `[bench:cold-start] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
