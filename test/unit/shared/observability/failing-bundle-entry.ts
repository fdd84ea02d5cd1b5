// Entry of the bundle built by stack-source-map.test.ts: a minified ESM bundle with its source map
// beside it, run by plain Node (no --enable-source-maps), as a Lambda function runs.
import { createLogger } from "#shared/observability/logger.ts";

export function loadLesson(id: string): never {
  const cause = new RangeError(`lesson ${id} has no pages`);
  throw new Error("the lesson could not be read", { cause });
}

const logger = createLogger({ service: "bundle-fixture", level: "INFO" });
try {
  loadLesson("photosynthesis");
} catch (error) {
  logger.error("reading failed", error as Error);
}
