// The chat model thread (see threaded.ts): runs the OpenAI-compatible client for the calls the main
// thread sends, and sends back their chunks, results and errors.
import { parentPort, workerData } from "node:worker_threads";
import type { ChatChunk } from "./chat-model.ts";
import { createOpenAICompatibleChatModel, type OpenAICompatibleChatModelOptions } from "./openai-compatible.ts";
import type { FromModelThread, ToModelThread, WireError, WireRequest } from "./threaded.ts";

if (!parentPort) throw new Error("model-thread-loop.ts runs only as a worker thread");
const port = parentPort;
const model = createOpenAICompatibleChatModel(workerData as OpenAICompatibleChatModelOptions);
const running = new Map<number, AbortController>();

const send = (message: FromModelThread) => port.postMessage(message);

function wireError(error: unknown): WireError {
  if (error instanceof Error || error instanceof DOMException) return { name: error.name, message: error.message };
  return { name: "Error", message: String(error) };
}

/** Runs one call under its own abort controller; whatever it throws goes back as the call's error. */
async function call(id: number, work: (signal: AbortSignal) => Promise<void>, beforeError?: () => void): Promise<void> {
  const controller = new AbortController();
  running.set(id, controller);
  try {
    await work(controller.signal);
  } catch (error) {
    beforeError?.();
    send({ type: "error", id, error: wireError(error) });
  } finally {
    running.delete(id);
  }
}

function stream(id: number, request: WireRequest): Promise<void> {
  // Chunks that arrive in the same turn of this thread's loop travel in one message; the first one
  // (time to first token) leaves at once.
  let pending: ChatChunk[] = [];
  let scheduled = false;
  let sentAny = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    send({ type: "chunks", id, chunks: pending });
    pending = [];
  };
  return call(
    id,
    async (signal) => {
      for await (const chunk of model.stream({ ...request, signal })) {
        pending.push(chunk);
        if (!sentAny) {
          sentAny = true;
          flush();
        } else if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      }
      flush();
      send({ type: "end", id });
    },
    // The chunks that came before the error are delivered first.
    flush,
  );
}

function complete(id: number, request: WireRequest): Promise<void> {
  return call(id, async (signal) => {
    send({ type: "result", id, result: await model.complete({ ...request, signal }) });
  });
}

port.on("message", (message: ToModelThread) => {
  if (message.type === "abort") running.get(message.id)?.abort();
  else if (message.type === "stream") void stream(message.id, message.request);
  else void complete(message.id, message.request);
});

send({ type: "ready" });
