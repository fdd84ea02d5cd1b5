// The required model client alone, as a process of its own: `CLIENT_FLOOR_CONCURRENCY` loops each
// streaming answers back to back from the stub model through createOpenAICompatibleChatModel
// (LangChain's ChatOpenAI over the openai SDK, the client the project's standards mandate), with
// nothing else running in the process, so its CPU time is what that client costs at that
// concurrency. bench/chat.ts puts it beside the engine's CPU per stream: the part of the engine's
// cost no implementation that uses this client can remove.
//
// Prints `{"ready":true}` after a warm-up (JIT, connections), then measures for
// CLIENT_FLOOR_SECONDS and prints one `{"load_client_floor":{…}}` line before exiting.
import { loadavg } from "node:os";
import { createOpenAICompatibleChatModel } from "#shared/llm/openai-compatible.ts";
import { sampleThreads, threadDeltas } from "../../scripts/load/processes.ts";
import { STUB_MODEL } from "../../scripts/load/stub-protocol.ts";
import { round } from "../stats.ts";

const WARM_UP_SECONDS = 2;
const WARM_UP_CONCURRENCY = 10;

function positiveInteger(name: string): number {
  const value = Number(process.env[name]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
}

async function main(): Promise<void> {
  const stubUrl = process.env.CLIENT_FLOOR_STUB_URL;
  if (!stubUrl) throw new Error("CLIENT_FLOOR_STUB_URL is required");
  const concurrency = positiveInteger("CLIENT_FLOOR_CONCURRENCY");
  const seconds = positiveInteger("CLIENT_FLOOR_SECONDS");
  const model = createOpenAICompatibleChatModel({
    baseUrl: `${stubUrl}/v1`,
    model: STUB_MODEL,
    timeoutMs: 30_000,
    maxRetries: 0,
  });
  let streams = 0;
  let tokens = 0;
  let failed = 0;
  // The `[load:…]` key makes the stub draw each answer's delay and length as it does for the engine's streams.
  const loop = async (label: string, deadline: number) => {
    for (let turn = 0; Date.now() < deadline; turn += 1) {
      try {
        const content = `Explain photosynthesis briefly [load:client-${label}-${turn}]`;
        for await (const chunk of model.stream({ messages: [{ role: "user", content }] })) {
          if (chunk.text !== "") tokens += 1;
        }
        streams += 1;
      } catch {
        failed += 1;
      }
    }
  };
  const warmUntil = Date.now() + WARM_UP_SECONDS * 1000;
  await Promise.all(Array.from({ length: WARM_UP_CONCURRENCY }, (_, index) => loop(`warm-u${index}`, warmUntil)));
  streams = 0;
  tokens = 0;
  failed = 0;
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);

  const loadAverage1m = round(loadavg()[0] ?? 0, 2);
  const cpuBefore = process.cpuUsage();
  const threadsBefore = sampleThreads("self");
  const started = performance.now();
  const deadline = Date.now() + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, (_, index) => loop(`c${concurrency}-u${index}`, deadline)));
  const cpu = process.cpuUsage(cpuBefore);
  const threadsAfter = sampleThreads("self");
  // The client runs on the main thread; the other threads are V8's GC and compiler helpers and libuv's pool.
  const threads = threadsBefore && threadsAfter ? threadDeltas(threadsBefore, threadsAfter) : undefined;
  const mainThreadS = threads?.get(process.pid);
  const report = {
    concurrency,
    streams,
    tokens,
    failed,
    cpu_s: round((cpu.user + cpu.system) / 1e6, 3),
    main_thread_cpu_s: mainThreadS === undefined ? undefined : round(mainThreadS, 3),
    other_threads_cpu_s:
      threads === undefined || mainThreadS === undefined
        ? undefined
        : round([...threads.values()].reduce((sum, seconds) => sum + seconds, 0) - mainThreadS, 3),
    wall_s: round((performance.now() - started) / 1000, 2),
    load_average_1m: loadAverage1m,
  };
  process.stdout.write(`${JSON.stringify({ load_client_floor: report })}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`client floor failed: ${error instanceof Error ? (error.stack ?? error.message) : error}\n`);
    process.exit(1);
  },
);
