import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type BenchUser, driveBurst, driveChatStreams, splitIntoWindows } from "../../../bench/chat/streams.ts";
import type { StreamSample } from "../../../scripts/load/users.ts";

/**
 * A loopback stand-in for the session chat stream: one token, then `done`, `delayMs` after the
 * request, plus `staggerMs` per user (token `t<n>`), so that the users' streams do not end together.
 */
async function sseServer(delayMs: number, staggerMs = 0) {
  const state = { inFlight: 0, arrivals: [] as number[] };
  const server: Server = createServer((request, response) => {
    state.inFlight += 1;
    state.arrivals.push(performance.timeOrigin + performance.now());
    const user = Number(/Bearer t(\d+)/.exec(request.headers.authorization ?? "")?.[1] ?? 0);
    request.resume();
    request.on("end", () => {
      response.writeHead(200, { "content-type": "text/event-stream" });
      setTimeout(
        () => {
          response.write("data: token\n\n");
          response.end("event: done\ndata: {}\n\n");
          state.inFlight -= 1;
        },
        delayMs + staggerMs * user,
      );
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, state, close: () => server.close() };
}

const users: BenchUser[] = Array.from({ length: 5 }, (_, index) => ({ token: `t${index}`, sessionId: `s${index}` }));

function sample(startedAt: number): StreamSample {
  return {
    kind: "session",
    key: String(startedAt),
    outcome: 200,
    startedAt,
    firstTokenAt: startedAt + 1,
    latencyMs: 2,
    sawDone: true,
    errorEvent: false,
  };
}

describe("splitIntoWindows", () => {
  it("puts each stream in the window it started in and leaves out the settle time and what starts after", () => {
    const windows = splitIntoWindows(
      [sample(5), sample(10), sample(19.9), sample(20), sample(30), sample(31)],
      [10, 20, 30],
    );
    expect(windows.map((window) => window.map((stream) => stream.startedAt))).toEqual([[10, 19.9], [20]]);
  });

  it("has no window without two boundaries", () => {
    expect(splitIntoWindows([sample(1)], [0])).toEqual([]);
  });
});

describe("driveChatStreams", () => {
  let close: (() => void) | undefined;
  afterEach(() => close?.());

  it("keeps the users streaming across each window's opening instead of starting them all at once", async () => {
    const server = await sseServer(150, 40);
    close = server.close;
    const inFlightAtBoundary: number[] = [];
    const windows = await driveChatStreams(
      server.url,
      users,
      users.length,
      {
        settleSeconds: 1,
        windowSeconds: 0.5,
        windows: 2,
        atBoundary: () => inFlightAtBoundary.push(server.state.inFlight),
      },
      "drive-test",
    );
    // The boundaries come in order, and streams are running as each window opens: a drive that
    // paused there would find the server drained (0) and then send every user's request at once.
    expect(inFlightAtBoundary).toHaveLength(3);
    for (const inFlight of inFlightAtBoundary.slice(0, 2)) expect(inFlight).toBeGreaterThan(0);
    expect(windows).toHaveLength(2);
    const [first = [], second = []] = windows;
    // 150–310 ms per stream, 5 users, 500 ms a window: about 11 streams in each.
    expect(first.length).toBeGreaterThan(3);
    expect(second.length).toBeGreaterThan(3);
    expect(Math.max(...first.map((stream) => stream.startedAt))).toBeLessThan(
      Math.min(...second.map((stream) => stream.startedAt)),
    );
    for (const stream of [...first, ...second]) expect(stream.sawDone).toBe(true);
    // The settle seconds' streams reached the server but are in no window.
    expect(server.state.arrivals.length).toBeGreaterThan(first.length + second.length + 5);
  });

  it("only loads the server when there are no windows (warm-up)", async () => {
    const server = await sseServer(10);
    close = server.close;
    const windows = await driveChatStreams(
      server.url,
      users,
      2,
      { settleSeconds: 0.1, windowSeconds: 0, windows: 0 },
      "warm-test",
    );
    expect(windows).toEqual([]);
    expect(server.state.arrivals.length).toBeGreaterThan(2);
  });
});

describe("driveBurst", () => {
  let close: (() => void) | undefined;
  afterEach(() => close?.());

  it("starts one stream per user at the same instant", async () => {
    const server = await sseServer(20);
    close = server.close;
    const streams = await driveBurst(server.url, users, users.length, "burst-test");
    expect(streams).toHaveLength(users.length);
    const starts = streams.map((stream) => stream.startedAt);
    expect(Math.max(...starts) - Math.min(...starts)).toBeLessThan(50);
    expect(streams.every((stream) => stream.sawDone && stream.firstTokenAt !== null)).toBe(true);
  });
});
