// Runs in a fresh `node` process (bundled to plain ESM by the parent, no tsx): imports one Lambda
// bundle as the runtime would and invokes it. Streaming functions get a stand-in for the runtime's
// `awslambda` global (the two members hono's streamHandle uses) before the import.
import { readFileSync, writeFileSync } from "node:fs";
import { Writable } from "node:stream";
import { pathToFileURL } from "node:url";
import type { InvocationResult, ProbeResult, ProbeSpec } from "./protocol.ts";

type Callable = (...args: unknown[]) => unknown;
type StreamingFunction = (event: unknown, stream: Writable, context: unknown) => Promise<void>;

const BODY_LIMIT = 4_000;
const specPath = process.argv[2];
if (!specPath) throw new Error("usage: node probe.mjs <spec.json>");
const spec = JSON.parse(readFileSync(specPath, "utf8")) as ProbeSpec;

let streamStatus: number | undefined;
if (spec.streaming) {
  // Lambda's streamifyResponse marks the function; the runtime then calls it with a response
  // stream. HttpResponseStream.from writes the status/headers prelude; here it only records them.
  Object.assign(globalThis, {
    awslambda: {
      streamifyResponse: (fn: StreamingFunction) => fn,
      HttpResponseStream: {
        from(stream: Writable, metadata: { statusCode?: number }) {
          streamStatus = metadata.statusCode;
          return stream;
        },
      },
    },
  });
}

function lambdaContext(requestId: string) {
  return {
    functionName: spec.functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${spec.functionName}`,
    memoryLimitInMB: String(spec.memoryMb),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${spec.functionName}`,
    logStreamName: "2026/01/01/[$LATEST]bench",
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** The error and where it came from (source-mapped: the bundle runs with --enable-source-maps). */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = "code" in error ? ` (${String(error.code)})` : "";
  const frames = (error.stack ?? "")
    .split("\n")
    .filter((line) => line.trim().startsWith("at "))
    .slice(0, 3)
    .map((line) => line.trim().replace(/\(file:\/\/[^)]*?\/(node_modules|shared|functions)\//, "($1/"));
  return `${error.name}: ${error.message}${code}${frames.length > 0 ? ` | ${frames.join(" | ")}` : ""}`;
}

function statusOf(result: unknown): number | string {
  if (typeof result !== "object" || result === null) return "no-result";
  if ("statusCode" in result && typeof result.statusCode === "number") return result.statusCode;
  if ("policyDocument" in result) {
    const statement = JSON.stringify(result.policyDocument);
    return statement.includes('"Effect":"Allow"') ? "Allow" : "Deny";
  }
  if ("batchItemFailures" in result && Array.isArray(result.batchItemFailures)) {
    return result.batchItemFailures.length === 0 ? "ok" : `failures:${result.batchItemFailures.length}`;
  }
  return "unknown-shape";
}

function bodyOf(result: unknown): string | undefined {
  if (typeof result !== "object" || result === null) return undefined;
  const body = "body" in result && typeof result.body === "string" ? result.body : JSON.stringify(result);
  return body.slice(0, BODY_LIMIT);
}

/** CPU time (user + system) since `since`, in milliseconds. */
function cpuMsSince(since: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1000;
}

async function invokeBuffered(fn: Callable, label: string, event: unknown, index: number): Promise<InvocationResult> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  try {
    const result = await fn(event, lambdaContext(`bench-${index}`));
    const ms = performance.now() - started;
    const body = bodyOf(result);
    return { label, ms, cpu_ms: cpuMsSince(cpu), status: statusOf(result), ...(body === undefined ? {} : { body }) };
  } catch (error) {
    return { label, ms: performance.now() - started, status: "error", error: describeError(error) };
  }
}

async function invokeStreaming(fn: Callable, label: string, event: unknown, index: number): Promise<InvocationResult> {
  const chunks: Buffer[] = [];
  const started = performance.now();
  let firstChunkMs: number | undefined;
  streamStatus = undefined;
  const sink = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      if (bytes.length > 0) {
        firstChunkMs ??= performance.now() - started;
        chunks.push(bytes);
      }
      callback();
    },
  });
  const finished = new Promise<void>((resolve) => sink.on("finish", () => resolve()));
  const cpu = process.cpuUsage();
  try {
    await fn(event, sink, lambdaContext(`bench-${index}`));
    await finished;
    const body = Buffer.concat(chunks).toString("utf8");
    return {
      label,
      ms: performance.now() - started,
      cpu_ms: cpuMsSince(cpu),
      status: streamStatus ?? "no-metadata",
      body: body.slice(0, BODY_LIMIT),
      chunks: chunks.length,
      ...(firstChunkMs === undefined ? {} : { first_chunk_ms: firstChunkMs }),
    };
  } catch (error) {
    return { label, ms: performance.now() - started, status: "error", error: describeError(error) };
  }
}

async function main(): Promise<ProbeResult> {
  const result: ProbeResult = { node: process.version, invocations: [], peak_rss_mb: 0 };
  const importStarted = performance.now();
  const importCpu = process.cpuUsage();
  let exported: unknown;
  try {
    const module = (await import(pathToFileURL(spec.bundle).href)) as Record<string, unknown>;
    result.import_ms = performance.now() - importStarted;
    result.import_cpu_ms = cpuMsSince(importCpu);
    exported = module[spec.exportName];
  } catch (error) {
    result.import_ms = performance.now() - importStarted;
    result.import_error = describeError(error);
  }
  if (result.import_error === undefined && typeof exported !== "function") {
    result.import_error = `export "${spec.exportName}" is ${typeof exported}, not a function`;
  }
  if (typeof exported === "function") {
    const fn = exported as Callable;
    for (const [index, { label, event }] of spec.invocations.entries()) {
      const invoke = spec.streaming ? invokeStreaming : invokeBuffered;
      result.invocations.push(await invoke(fn, label, event, index));
    }
  }
  result.peak_rss_mb = process.resourceUsage().maxRSS / 1024;
  return result;
}

const outcome = await main();
writeFileSync(spec.resultFile, JSON.stringify(outcome));
// The engine may hold timers and handles (queue polling, store); Lambda would freeze the process.
process.exit(0);
