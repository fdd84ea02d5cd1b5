// After the run: is everything the engine acknowledged still there? Every acknowledged message and
// both halves of every completed chat turn must be in the session's history, every session in the
// list, every acknowledged upload in the documents list — and, once the ingestion queue has had
// time to drain, `ready`.
import { engineClient, LoadRecorder } from "./client.ts";
import type { UserLedger } from "./users.ts";

export interface DataCheckReport {
  sessions: { acknowledged: number; lost: number };
  messages: { acknowledged: number; lost: number; lost_samples: string[] };
  chat_turns: {
    completed_streams: number;
    user_messages_lost: number;
    assistant_messages_lost: number;
    assistant_mismatch_samples: string[];
  };
  uploads: {
    acknowledged: number;
    lost: number;
    ready: number;
    failed: number;
    not_ready: number;
    not_ready_by_status: Record<string, number>;
    failed_errors: string[];
    drain_wait_s: number;
  };
  /** Check requests that themselves failed (the affected items count as unverified, not lost). */
  check_request_failures: number;
  lost_writes: number;
}

interface StoredMessage {
  role: string;
  content: string;
}

const PARALLEL_USERS = 10;
// Beyond this a session's history is paged; the default run stays far below it.
const HISTORY_PAGE = 1000;
const POLL_INTERVAL_MS = 1_000;

async function inBatches<T>(items: T[], parallel: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(parallel, items.length) }, async () => {
    for (let index = next++; index < items.length; index = next++) {
      const item = items[index];
      if (item !== undefined) await work(item);
    }
  });
  await Promise.all(lanes);
}

function asArray(body: unknown): unknown[] {
  return Array.isArray(body) ? body : [];
}

function field(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

/** Checks every ledger against what the engine now returns; waits up to `drainS` for uploads to settle. */
export async function checkData(baseUrl: string, ledgers: UserLedger[], drainS: number): Promise<DataCheckReport> {
  // A recorder of its own: the check's requests are not part of the load figures.
  const recorder = new LoadRecorder();
  const report: DataCheckReport = {
    sessions: { acknowledged: 0, lost: 0 },
    messages: { acknowledged: 0, lost: 0, lost_samples: [] },
    chat_turns: {
      completed_streams: 0,
      user_messages_lost: 0,
      assistant_messages_lost: 0,
      assistant_mismatch_samples: [],
    },
    uploads: {
      acknowledged: 0,
      lost: 0,
      ready: 0,
      failed: 0,
      not_ready: 0,
      not_ready_by_status: {},
      failed_errors: [],
      drain_wait_s: 0,
    },
    check_request_failures: 0,
    lost_writes: 0,
  };

  await checkUploads(baseUrl, ledgers, drainS, recorder, report);

  await inBatches(ledgers, PARALLEL_USERS, async (ledger) => {
    const client = engineClient(baseUrl, ledger.token, recorder);
    const listed = await client.json("GET", "check sessions", "/ai/sessions");
    const sessions = asArray(field(listed.body, "sessions")).map((session) => field(session, "id"));
    report.sessions.acknowledged += ledger.sessionIds.length;
    if (listed.outcome !== 200) report.check_request_failures += 1;
    else report.sessions.lost += ledger.sessionIds.filter((id) => !sessions.includes(id)).length;

    for (const sessionId of ledger.sessionIds) {
      const messages = ledger.messages.filter((message) => message.sessionId === sessionId);
      const streams = ledger.streams.filter((stream) => stream.sessionId === sessionId);
      report.messages.acknowledged += messages.length;
      report.chat_turns.completed_streams += streams.length;
      const history = await client.json(
        "GET",
        "check messages",
        `/ai/sessions/${sessionId}/messages?limit=${HISTORY_PAGE}`,
      );
      if (history.outcome !== 200) {
        report.check_request_failures += 1;
        continue;
      }
      const stored: StoredMessage[] = asArray(history.body).map((message) => ({
        role: String(field(message, "role")),
        content: String(field(message, "content")),
      }));
      if (stored.length >= HISTORY_PAGE) report.check_request_failures += 1;
      const has = (role: string, content: string) =>
        stored.some((message) => message.role === role && message.content === content);
      for (const message of messages) {
        if (has("user", message.content)) continue;
        report.messages.lost += 1;
        if (report.messages.lost_samples.length < 5) report.messages.lost_samples.push(message.content);
      }
      for (const stream of streams) {
        if (!has("user", stream.message)) report.chat_turns.user_messages_lost += 1;
        if (has("assistant", stream.text)) continue;
        report.chat_turns.assistant_messages_lost += 1;
        const near = stored.find((message) => message.role === "assistant" && message.content.includes(stream.key));
        if (report.chat_turns.assistant_mismatch_samples.length < 5) {
          report.chat_turns.assistant_mismatch_samples.push(
            `${stream.kind} ${stream.key}: streamed ${JSON.stringify(stream.text.slice(0, 80))}, stored ${
              near ? JSON.stringify(near.content.slice(0, 80)) : "nothing"
            }`,
          );
        }
      }
    }
  });

  report.lost_writes =
    report.sessions.lost +
    report.messages.lost +
    report.chat_turns.user_messages_lost +
    report.chat_turns.assistant_messages_lost +
    report.uploads.lost;
  return report;
}

/** Polls each user's documents until every acknowledged upload is ready or failed, or the wait is over. */
async function checkUploads(
  baseUrl: string,
  ledgers: UserLedger[],
  drainS: number,
  recorder: LoadRecorder,
  report: DataCheckReport,
): Promise<void> {
  const started = Date.now();
  const deadline = started + drainS * 1000;
  const final = new Map<string, string>();
  let pending = ledgers.filter((ledger) => ledger.uploads.length > 0);
  for (;;) {
    const stillPending: UserLedger[] = [];
    await inBatches(pending, PARALLEL_USERS, async (ledger) => {
      const listed = await engineClient(baseUrl, ledger.token, recorder).json(
        "GET",
        "check documents",
        "/ai/documents",
      );
      if (listed.outcome !== 200) {
        stillPending.push(ledger);
        return;
      }
      const byId = new Map<unknown, unknown>();
      for (const document of asArray(field(listed.body, "documents"))) {
        byId.set(field(document, "document_id"), document);
      }
      let settled = true;
      for (const upload of ledger.uploads) {
        const document = byId.get(upload.taskId);
        const status = document === undefined ? "missing" : String(field(document, "status"));
        final.set(upload.taskId, status);
        if (status === "failed") {
          const error = String(field(document, "error"));
          if (report.uploads.failed_errors.length < 5 && !report.uploads.failed_errors.includes(error)) {
            report.uploads.failed_errors.push(error);
          }
        }
        if (status !== "ready" && status !== "failed" && status !== "missing") settled = false;
      }
      if (!settled) stillPending.push(ledger);
    });
    pending = stillPending;
    if (pending.length === 0 || Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  report.uploads.drain_wait_s = Math.round((Date.now() - started) / 100) / 10;
  for (const ledger of ledgers) {
    for (const upload of ledger.uploads) {
      report.uploads.acknowledged += 1;
      const status = final.get(upload.taskId);
      if (status === undefined) {
        report.check_request_failures += 1;
      } else if (status === "missing") {
        report.uploads.lost += 1;
      } else if (status === "ready") {
        report.uploads.ready += 1;
      } else if (status === "failed") {
        report.uploads.failed += 1;
      } else {
        report.uploads.not_ready += 1;
        report.uploads.not_ready_by_status[status] = (report.uploads.not_ready_by_status[status] ?? 0) + 1;
      }
    }
  }
}
