// Runs a Node child process to its end and hands back what it printed: the tests and benchmarks
// that need a fresh process (a cold import, a crash, a module cache of its own) share this.
import { spawn } from "node:child_process";

export interface NodeChildOptions {
  /** Working directory of the child (module resolution starts there). */
  cwd: string;
  /** Names the child in the error of a failed run. */
  label?: string;
  /** Variables added to this process's environment for the child. */
  env?: NodeJS.ProcessEnv;
}

/** Runs `node ...args`; resolves with its standard output, rejects with its exit code and standard error. */
export function runNodeChild(args: readonly string[], options: NodeChildOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args], {
      cwd: options.cwd,
      stdio: ["ignore", "pipe", "pipe"],
      ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${options.label ?? "node child"} exited ${code}: ${stderr.trim().slice(0, 2000)}`));
    });
  });
}
