// What the engine writes to its logs at INFO: one access line per request with its request id, and
// never a token, the JWT secret, the model API key or the student's words (chat messages, questions,
// document text) — also when the model fails. The Powertools logger prints JSON lines through its own
// Console on process.stdout/stderr, which the test captures for the lifetime of one engine.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { documentsClient } from "#test/support/documents.ts";
import { clientFor, startTestEngine, TEST_SECRET, type TestEngine } from "#test/support/engine.ts";
import { backendClaims, type CapturedOutput, captureProcessOutput, signClaims } from "#test/support/security.ts";
import { type StubLlm, startStubLlm } from "#test/support/stub-llm.ts";

const API_KEY = "sk-collabry-test-LOGKEY-9f8e7d6c5b4a";
const CHAT_PHRASE = "my grandmother's secret lasagne uses nutmeg-purple-42";
const QUESTION_PHRASE = "why does the albatross-ultraviolet-77 glide";
const DOCUMENT_PHRASE = "the vault combination is 31-gooseberry-08";
const REQUEST_ID = "security-log-probe-0001";

interface LogLine {
  level?: string;
  message?: string;
  request_id?: string;
  [key: string]: unknown;
}

let stub: StubLlm;
let engine: TestEngine;
let output: CapturedOutput;
let token: string;
let wrongToken: string;
let lines: string[];

beforeAll(async () => {
  stub = await startStubLlm({ tokens: ["Nutmeg ", "adds ", "warmth."] });
  output = captureProcessOutput();
  try {
    engine = await startTestEngine({
      LOG_LEVEL: "INFO",
      LLM_BASE_URL: stub.baseUrl,
      LLM_MODEL: "stub-model",
      LLM_API_KEY: API_KEY,
      LLM_MAX_RETRIES: "0",
    });
    token = await engine.token("logged-user");
    wrongToken = await signClaims(backendClaims("logged-user"), "another-secret-that-is-long-enough-0123");
    const client = clientFor(engine.url, token);
    const documents = documentsClient(engine.url, token);

    const session = (await (await client.send("POST", "/ai/sessions", { title: "Logs" })).json()) as { id: string };
    await (
      await client.send(
        "POST",
        "/ai/chat",
        { message: CHAT_PHRASE, session_id: session.id },
        { "X-Request-Id": REQUEST_ID },
      )
    ).text();
    await (await client.send("POST", `/ai/sessions/${session.id}/chat/stream`, { message: CHAT_PHRASE })).text();
    const uploaded = await documents.uploadFile(
      "vault.md",
      new TextEncoder().encode(`# Vault\n\n${DOCUMENT_PHRASE}.\n`),
    );
    await documents.settled(uploaded.document_id);
    await (await client.send("POST", "/ai/qa", { question: QUESTION_PHRASE })).text();
    // The model fails: the failure is logged, the prompt and the key are not.
    stub.setBehaviour({ failWith: 500 });
    await (await client.send("POST", "/ai/chat", { message: `${CHAT_PHRASE} again`, session_id: session.id })).text();
    await (await client.send("POST", "/ai/qa/stream", { question: QUESTION_PHRASE })).text();
    await (await client.send("POST", "/ai/summarize", { text: `${CHAT_PHRASE}. ${DOCUMENT_PHRASE}.` })).text();
    stub.setBehaviour({ failWith: undefined });
    // Refused tokens, in the header and in the query string.
    await (await clientFor(engine.url, wrongToken).get("/ai/sessions")).text();
    await (await fetch(`${engine.url}/ai/sessions?token=${token}`)).text();
    await (await fetch(`${engine.url}/ai/sessions`, { headers: { Authorization: `Basic ${token}` } })).text();
  } finally {
    await engine?.stop();
    output.restore();
  }
  lines = output.lines();
});

afterAll(async () => {
  await engine.cleanup();
  await stub.close();
});

function parsed(): LogLine[] {
  return lines.map((line) => JSON.parse(line) as LogLine);
}

describe("engine logs at INFO", () => {
  it("are JSON lines, with one access line per request carrying its request id", () => {
    // Act
    const logs = parsed();
    const requests = logs.filter((log) => log.message === "request");

    // Assess
    expect(requests.length).toBeGreaterThanOrEqual(12);
    for (const log of requests) {
      expect(typeof log.request_id).toBe("string");
      expect(String(log.request_id).length).toBeGreaterThanOrEqual(8);
    }
    expect(requests.map((log) => log.request_id)).toContain(REQUEST_ID);
    expect(new Set(requests.map((log) => log.request_id)).size).toBe(requests.length);
    expect(requests.map((log) => log.status)).toEqual(expect.arrayContaining([200, 401]));
  });

  it("record the model failures without the prompt", () => {
    // Act
    const problems = parsed().filter((log) => log.level === "WARN" || log.level === "ERROR");

    // Assess
    expect(problems.length).toBeGreaterThan(0);
    for (const log of problems) expect(JSON.stringify(log)).not.toContain("nutmeg");
  });

  it.each([
    ["the valid token", () => token],
    ["the valid token's signature", () => token.split(".")[2] ?? token],
    ["the refused token's signature", () => wrongToken.split(".")[2] ?? wrongToken],
    ["the JWT secret", () => TEST_SECRET],
    ["the model API key", () => API_KEY],
    ["the chat message", () => CHAT_PHRASE],
    ["a distinctive word of the chat message", () => "nutmeg-purple-42"],
    ["the question", () => QUESTION_PHRASE],
    ["the document text", () => DOCUMENT_PHRASE],
  ])("never contain %s", (_label, secret) => {
    // Act
    const leaking = lines.filter((line) => line.includes(secret()));

    // Assess
    expect(lines.length).toBeGreaterThan(0);
    expect(leaking).toEqual([]);
  });
});
