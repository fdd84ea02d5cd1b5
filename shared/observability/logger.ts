// Structured JSON logs (Powertools). Prompts, tokens and secrets are never logged at INFO.
import { Logger } from "@aws-lambda-powertools/logger";
import { withSourceMappedStack } from "./stack-source-map.ts";

export type { Logger };

export type LogLevelName = "DEBUG" | "INFO" | "WARN" | "ERROR" | "SILENT";

/** Creates the engine's logger for one service (feature or the local runtime). */
export function createLogger(options: { service: string; level: LogLevelName; stage?: string }): Logger {
  return new Logger({
    serviceName: options.service,
    logLevel: options.level,
    ...(options.stage ? { environment: options.stage } : {}),
    // A logged error's stack points at the sources, not at the minified bundle; unless Node maps
    // every stack itself (--enable-source-maps), which the functions leave off (stack-source-map.ts).
    ...(process.sourceMapsEnabled ? {} : { jsonReplacerFn: mapErrorStacks }),
  });
}

function mapErrorStacks(_key: string, value: unknown): unknown {
  return value instanceof Error ? withSourceMappedStack(value) : value;
}

/** The logging calls request code makes; the engine's Logger and a request's logger both have them. */
export type LogSink = Pick<Logger, "debug" | "info" | "warn" | "error">;

type LogAttributes = Parameters<Logger["appendKeys"]>[0];

/**
 * A request's logger: every line carries the request's keys. Powertools' `createChild` builds a
 * whole Logger (options re-read from the environment, a new Console) per call, which on the chat
 * path cost as much as the rest of the request's logging; this passes the keys to the shared
 * logger instead, and costs nothing for a level that is off.
 */
export function requestLogger(base: Logger, keys: LogAttributes): LogSink {
  const call =
    (level: "debug" | "info" | "warn" | "error") =>
    (message: string, ...extra: LogAttributes[]): void => {
      base[level](message, keys, ...extra);
    };
  return { debug: call("debug"), info: call("info"), warn: call("warn"), error: call("error") };
}
