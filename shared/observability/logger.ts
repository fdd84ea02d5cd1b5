// Structured JSON logs (Powertools). Prompts, tokens and secrets are never logged at INFO.
import { Logger } from "@aws-lambda-powertools/logger";

export type { Logger };

export type LogLevelName = "DEBUG" | "INFO" | "WARN" | "ERROR" | "SILENT";

/** Creates the engine's logger for one service (feature or the local runtime). */
export function createLogger(options: { service: string; level: LogLevelName; stage?: string }): Logger {
  return new Logger({
    serviceName: options.service,
    logLevel: options.level,
    ...(options.stage ? { environment: options.stage } : {}),
  });
}
