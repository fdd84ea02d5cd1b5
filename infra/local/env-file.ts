// `.env` support for local runs: variables already in the environment win over the file.
import { existsSync } from "node:fs";

/** Loads `.env` from the working directory when present. */
export function loadDotEnv(path = ".env"): boolean {
  if (!existsSync(path)) return false;
  process.loadEnvFile(path);
  return true;
}
