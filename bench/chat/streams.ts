// The chat benchmarks' users and load: users with a session each, streaming the notebook's chat
// route back to back (bench/chat.ts against the engine and its floors, bench/chat/engine-rounds.ts
// against the engine alone). Each message carries a `[load:…]` key, so the stub draws its delay and
// length per stream and the run can match each stream with the stub's own timing of it.
import { signDevToken } from "#infra/local/dev-secret.ts";
import { engineClient, LoadRecorder } from "../../scripts/load/client.ts";
import { type StreamSample, streamSample } from "../../scripts/load/users.ts";

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

/** The first `concurrency` users each stream back to back for `seconds`; every stream they made. */
export async function driveChatStreams(
  url: string,
  users: BenchUser[],
  concurrency: number,
  seconds: number,
  label: string,
): Promise<StreamSample[]> {
  const recorder = new LoadRecorder();
  const streams: StreamSample[] = [];
  const deadline = Date.now() + seconds * 1000;
  await Promise.all(
    users.slice(0, concurrency).map(async (user, index) => {
      const client = engineClient(url, user.token, recorder);
      for (let turn = 0; Date.now() < deadline; turn += 1) {
        const key = `${label}-u${index}-${turn}`;
        const result = await client.stream(
          STREAM_ROUTE,
          `/ai/sessions/${user.sessionId}/chat/stream`,
          { message: `Explain photosynthesis briefly [load:${key}]` },
          "session",
        );
        streams.push(streamSample("session", key, result));
      }
    }),
  );
  return streams;
}

/**
 * Warm-up (JIT, first connections to the stub), not counted: 10 streams for 2 s, then 100 for 15 s.
 * The engine's optimising compiler is still busy long after its first requests: at 100 streams,
 * 25 s after start, it was ~15% of the engine's CPU (three quarters of its helper threads' time),
 * a cost a running server paid long ago.
 */
export async function warmUp(url: string, users: BenchUser[], label: string): Promise<void> {
  await driveChatStreams(url, users, 10, 2, `${label}-warm`);
  await driveChatStreams(url, users, 100, 15, `${label}-warm-top`);
}

/** Streams that did not end well: another status, no `done`, or an `error` event. */
export function failedStreams(streams: StreamSample[]): number {
  return streams.filter((stream) => stream.outcome !== 200 || !stream.sawDone || stream.errorEvent).length;
}
