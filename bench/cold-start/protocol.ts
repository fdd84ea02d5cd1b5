// What the parent tells a probe process and what the probe answers (JSON files, so the probe's own
// stdout stays free for the function's logs).

export interface ProbeInvocation {
  label: string;
  event: unknown;
}

export interface ProbeSpec {
  /** Absolute path of the bundle (index.mjs). */
  bundle: string;
  /** The export Lambda would call: `handler` or `streamingHandler`. */
  exportName: "handler" | "streamingHandler";
  /** Define the `awslambda` stand-in before importing (the streaming function's runtime). */
  streaming: boolean;
  functionName: string;
  memoryMb: number;
  invocations: ProbeInvocation[];
  resultFile: string;
}

export interface InvocationResult {
  label: string;
  ms: number;
  /** HTTP status, "Allow" for an authorizer policy, "ok"/"failures:N" for an SQS batch, or "error". */
  status: number | string;
  /** The response body (truncated), for the parent to pick ids from and for diagnosis. */
  body?: string;
  error?: string;
  /** CPU time (user + system) of the process during the invocation: less sensitive to other load than `ms`. */
  cpu_ms?: number;
  /** Streaming only: time from the call to the first body chunk. */
  first_chunk_ms?: number;
  chunks?: number;
}

export interface ProbeResult {
  node: string;
  import_ms?: number;
  /** CPU time (user + system) of the import. */
  import_cpu_ms?: number;
  import_error?: string;
  invocations: InvocationResult[];
  /** process.resourceUsage().maxRSS (kilobytes) in MB, read after the last invocation. */
  peak_rss_mb: number;
}
