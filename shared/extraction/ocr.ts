// OCR with tesseract.js and the English data shipped in @tesseract.js-data/eng. Without an explicit
// langPath tesseract.js fetches data from a CDN and, offline, crashes the process from its worker,
// so the worker is only ever created here, with local paths and no cache writes. tesseract.js is
// imported with the first image: in Lambda it is installed beside the bundle with its wasm core and
// the English data, which a single-file bundle cannot hold.
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Tesseract from "tesseract.js";
import { onDemand } from "../on-demand.ts";
import { ExtractionError } from "./errors.ts";

const loadTesseract = onDemand(() => import("tesseract.js"));

const require = createRequire(import.meta.url);

let workerPromise: Promise<Tesseract.Worker> | undefined;

function englishLangPath(): string {
  const data: unknown = require("@tesseract.js-data/eng");
  if (typeof data !== "object" || data === null || !("langPath" in data) || typeof data.langPath !== "string") {
    throw new Error("@tesseract.js-data/eng has no langPath");
  }
  // "_best_int" holds the integer-quantised LSTM model: accurate and fast on CPU (and the only one
  // the Lambdas ship).
  return `${data.langPath}_best_int`;
}

async function createWorker(): Promise<Tesseract.Worker> {
  const { default: tesseract } = await loadTesseract();
  // LSTM only: the Lambdas ship only tesseract.js-core's LSTM engines (OCR_UNUSED_FILES).
  return tesseract.createWorker("eng", tesseract.OEM.LSTM_ONLY, {
    langPath: englishLangPath(),
    cachePath: join(tmpdir(), "collabry-tesseract"),
    gzip: true,
    cacheMethod: "none",
    // Without a handler tesseract.js rethrows a failed job as an uncaught exception (killing the
    // process); the job's own promise still rejects, and recognizeImage maps that rejection.
    errorHandler: () => undefined,
  });
}

function getWorker(): Promise<Tesseract.Worker> {
  if (workerPromise === undefined) {
    const created = createWorker();
    workerPromise = created;
    // A worker that failed to start must not be reused by the next document.
    created.catch(() => {
      if (workerPromise === created) workerPromise = undefined;
    });
  }
  return workerPromise;
}

/** Stops the shared OCR worker (tests, graceful shutdown); the next OCR call starts a new one. */
export async function shutdownOcr(): Promise<void> {
  const current = workerPromise;
  workerPromise = undefined;
  if (current === undefined) return;
  try {
    await (await current).terminate();
  } catch {
    // Already dead: nothing left to stop.
  }
}

/** Recognises English text in an image; rejects with ExtractionError ("timeout" or "corrupt"). */
export async function recognizeImage(image: Uint8Array, timeoutMs: number, signal?: AbortSignal): Promise<string> {
  if (timeoutMs <= 0) throw new ExtractionError("timeout", "Reading the text in this file's images took too long.");
  let worker: Tesseract.Worker;
  try {
    worker = await getWorker();
  } catch (error) {
    throw new ExtractionError("corrupt", "Text recognition is not available right now. Please try again later.", {
      cause: error,
    });
  }
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ExtractionError("timeout", "Reading the text in this file's images took too long.")),
      timeoutMs,
    );
    onAbort = () => reject(new ExtractionError("timeout", "Reading this file was cancelled."));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
  try {
    const result = await Promise.race([worker.recognize(Buffer.from(image)), stop]);
    return result.data.text;
  } catch (error) {
    if (error instanceof ExtractionError) {
      // The worker is still busy with the abandoned image: replace it rather than queue behind it.
      await shutdownOcr();
      throw error;
    }
    throw new ExtractionError("corrupt", "This image could not be read. It may be damaged.", { cause: error });
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
  }
}
