// The chat benchmarks' users and load: users with a session each, streaming the notebook's chat
// route back to back (bench/chat.ts against the engine and its floors, bench/chat/engine-rounds.ts
// against the engine alone). Each message carries a `[load:…]` key, so the stub draws its delay and
// length per stream and the run can match each stream with the stub's own timing of it.
import { signDevToken } from "#infra/local/dev-secret.ts";
import { engineClient, LoadRecorder } from "../../scripts/load/client.ts";
import { type StreamSample, streamSample } from "../../scripts/load/users.ts";
import { preciseNow } from "../stats.ts";

export const STREAM_ROUTE = "POST /ai/sessions/{id}/chat/stream";

/** Limits on, never refusing: the checks run on every request as in a deployment. */
export const LIMITS_NEVER_REFUSING = {
  RATE_LIMIT_CHAT_PER_MINUTE: "100000",
  RATE_LIMIT_READ_PER_MINUTE: "100000",
  QUOTA_TOKENS_FREE: "1000000000",
};

export interface BenchUser {
  token: string;
  sessionId: string;
}

/** `count` users (`<prefix>-<n>`), each with a token signed with `secret` and a session of their own. */
export async function createBenchUsers(
  url: string,
  secret: string,
  count: number,
  prefix: string,
): Promise<BenchUser[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const token = await signDevToken(secret, { userId: `${prefix}-${index}`, ttlSeconds: 3_600 });
      const response = await fetch(`${url}/ai/sessions`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ title: `${prefix} ${index}` }),
      });
      if (response.status !== 200) throw new Error(`session create answered ${response.status}`);
      const { id } = (await response.json()) as { id: string };
      return { token, sessionId: id };
    }),
  );
}

/**
 * Before its first measured window a drive serves that level's streams for this long, uncounted.
 * Each server of bench:chat sits idle while the others run their levels; one coming out of idle
 * grows its heap again and recompiles, a transition a server under steady load has long paid for.
 * Measured from idle, the engine's CPU per stream at 100 streams was 7.95 ms (helper threads 1.42);
 * after these seconds, 6.41 ms (0.85).
 */
export const SETTLE_SECONDS = 3;

/** How a drive is measured: uncounted seconds first, then consecutive windows of equal length. */
export interface DrivePlan {
  /** Streams that start before the first window are not counted: the level reaches steady state. */
  settleSeconds: number;
  windowSeconds: number;
  /** Consecutive measured windows; 0 for a drive that only loads the server (warm-up). Default 1. */
  windows?: number;
  /**
   * Called as the first window opens (0) and as each window closes (1…windows, the next opening at
   * the same instant): where the caller samples the CPU counters of the window.
   */
  atBoundary?: (index: number) => void;
}

/**
 * The first `concurrency` users each stream back to back, without a pause, from the start of the
 * settle seconds to the end of the last window; each stream is counted in the window it started in
 * (streams still running when a window closes finish in the next, or after the last). The load
 * never stops between the settle seconds and the windows, or between windows: a window opened on a
 * drained server would start with all `concurrency` requests at the same instant, and that burst's
 * queue, at 100 streams about one window's 5 %, would be the window's p95 (`driveBurst` measures a
 * burst on its own). Returns each window's streams.
 */
export async function driveChatStreams(
  url: string,
  users: BenchUser[],
  concurrency: number,
  plan: DrivePlan,
  label: string,
): Promise<StreamSample[][]> {
  const windows = plan.windows ?? 1;
  const recorder = new LoadRecorder();
  const streams: StreamSample[] = [];
  const startedAt = preciseNow();
  const boundaries = Array.from(
    { length: windows + 1 },
    (_, index) => startedAt + (plan.settleSeconds + index * plan.windowSeconds) * 1000,
  );
  const end = boundaries[windows] ?? startedAt + plan.settleSeconds * 1000;
  const timers = plan.atBoundary
    ? boundaries.map((at, index) => setTimeout(() => plan.atBoundary?.(index), Math.max(0, at - preciseNow())))
    : [];
  try {
    await Promise.all(
      users.slice(0, concurrency).map(async (user, index) => {
        const client = engineClient(url, user.token, recorder);
        for (let turn = 0; preciseNow() < end; turn += 1) {
          streams.push(await streamOnce(client, user, `${label}-u${index}-${turn}`));
        }
      }),
    );
  } finally {
    for (const timer of timers) clearTimeout(timer);
  }
  return splitIntoWindows(streams, boundaries);
}

/**
 * Each stream in the window it started in: window `i` spans [boundaries[i], boundaries[i + 1]);
 * streams before the first boundary or from the last on are left out.
 */
export function splitIntoWindows(streams: readonly StreamSample[], boundaries: readonly number[]): StreamSample[][] {
  const windows: StreamSample[][] = Array.from({ length: Math.max(0, boundaries.length - 1) }, () => []);
  for (const stream of streams) {
    for (let index = 0; index < windows.length; index += 1) {
      if (stream.startedAt >= (boundaries[index] ?? 0) && stream.startedAt < (boundaries[index + 1] ?? 0)) {
        windows[index]?.push(stream);
        break;
      }
    }
  }
  return windows;
}

/**
 * Each of the first `concurrency` users starts one stream at the same instant (call it with the
 * server idle): the time to first token of a burst, which a server under steady load never sees.
 */
export async function driveBurst(
  url: string,
  users: BenchUser[],
  concurrency: number,
  label: string,
): Promise<StreamSample[]> {
  const recorder = new LoadRecorder();
  return Promise.all(
    users
      .slice(0, concurrency)
      .map((user, index) => streamOnce(engineClient(url, user.token, recorder), user, `${label}-u${index}`)),
  );
}

/** One chat stream of `user`'s session, read to its end; `key` lets the run match the stub's timing of it. */
async function streamOnce(
  client: ReturnType<typeof engineClient>,
  user: BenchUser,
  key: string,
): Promise<StreamSample> {
  const result = await client.stream(
    STREAM_ROUTE,
    `/ai/sessions/${user.sessionId}/chat/stream`,
    { message: `Explain photosynthesis briefly [load:${key}]` },
    "session",
  );
  return streamSample("session", key, result);
}

/**
 * Warm-up (JIT, first connections to the stub), not counted: 10 streams for 2 s, then 100 for 15 s.
 * The engine's optimising compiler is still busy long after its first requests: at 100 streams,
 * 25 s after start, it was ~15% of the engine's CPU (three quarters of its helper threads' time),
 * a cost a running server paid long ago.
 */
export async function warmUp(url: string, users: BenchUser[], label: string): Promise<void> {
  await driveChatStreams(url, users, 10, { settleSeconds: 2, windowSeconds: 0, windows: 0 }, `${label}-warm`);
  await driveChatStreams(url, users, 100, { settleSeconds: 15, windowSeconds: 0, windows: 0 }, `${label}-warm-top`);
}

/** Streams that did not end well: another status, no `done`, or an `error` event. */
export function failedStreams(streams: StreamSample[]): number {
  return streams.filter((stream) => stream.outcome !== 200 || !stream.sawDone || stream.errorEvent).length;
}
