// The SSRF guard, against loopback servers this test starts (never the internet): forbidden
// addresses before and after DNS and after every redirect, schemes, size, time and type limits.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "#shared/config/config.ts";
import {
  createPageFetcher,
  forbiddenAddressReason,
  PageFetchError,
  pageFetcherOptionsFor,
} from "#shared/web/fetch-page.ts";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let base: string;
const sockets = new Set<Socket>();
const seen: Array<{ path: string; host: string | undefined }> = [];
const routes: Record<string, Handler> = {
  "/page": (_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end("<html><head><title>Osmosis</title></head><body><p>Water moves across membranes.</p></body></html>");
  },
  "/plain": (_req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("plain notes");
  },
  "/pdf": (_req, res) => {
    res.writeHead(200, { "content-type": "application/pdf" });
    res.end("%PDF-1.7");
  },
  "/huge": (_req, res) => {
    // No content-length: the limit must hold while streaming.
    res.writeHead(200, { "content-type": "text/html" });
    const block = "x".repeat(64 * 1024);
    let sent = 0;
    const pump = () => {
      while (sent < 40 && res.write(block)) sent++;
      if (sent < 40) res.once("drain", pump);
      else res.end();
    };
    pump();
  },
  "/declared-huge": (_req, res) => {
    res.writeHead(200, { "content-type": "text/html", "content-length": String(50 * 1024 * 1024) });
    res.write("<p>start</p>");
  },
  "/slow": (_req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.write("<p>first bytes</p>");
    // …and never ends.
  },
  "/missing": (_req, res) => {
    res.writeHead(404, { "content-type": "text/html" });
    res.end("not here");
  },
  "/loop": (_req, res) => {
    res.writeHead(302, { location: "/loop" });
    res.end();
  },
};

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://local");
    seen.push({ path: url.pathname, host: req.headers.host });
    const to = url.searchParams.get("to");
    if (url.pathname === "/redirect" && to) {
      res.writeHead(302, { location: to });
      res.end();
      return;
    }
    (routes[url.pathname] ?? routes["/missing"])?.(req, res);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** The production guard, with one exception: the test server's own address. */
const allowTestServer = (ip: string) => ip === "127.0.0.1";

async function failure(promise: Promise<unknown>): Promise<PageFetchError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PageFetchError) return error;
    throw error;
  }
  throw new Error("expected the fetch to fail");
}

describe("address policy", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["10.1.2.3", "private network"],
    ["172.20.0.1", "private network"],
    ["192.168.1.1", "private network"],
    ["100.64.0.1", "carrier-grade NAT (CGNAT) range"],
    ["169.254.10.10", "link-local"],
    ["169.254.169.254", "cloud metadata service"],
    ["0.0.0.0", "unspecified/this-network address"],
    ["224.0.0.251", "multicast"],
    ["255.255.255.255", "reserved/broadcast"],
    ["::1", "loopback"],
    ["::", "unspecified address"],
    ["fe80::1%eth0", "link-local"],
    ["fc00::1", "unique-local (private) address"],
    ["fd00:ec2::254", "cloud metadata service"],
    ["ff02::1", "multicast"],
    ["::ffff:127.0.0.1", "loopback (IPv4 127.0.0.1 inside IPv6)"],
    ["::ffff:7f00:1", "loopback (IPv4 127.0.0.1 inside IPv6)"],
    ["::ffff:169.254.169.254", "cloud metadata service (IPv4 169.254.169.254 inside IPv6)"],
    ["64:ff9b::a9fe:a9fe", "cloud metadata service (IPv4 169.254.169.254 inside IPv6)"],
    ["2002:0a00:0001::1", "private network (IPv4 10.0.0.1 inside IPv6)"],
  ])("refuses %s (%s)", (ip, reason) => {
    // Act
    const found = forbiddenAddressReason(ip);

    // Assess
    expect(found).toBe(reason);
  });

  it.each(["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])("allows public %s", (ip) => {
    // Act
    const found = forbiddenAddressReason(ip);

    // Assess
    expect(found).toBeUndefined();
  });
});

describe("guarded fetch", () => {
  it("refuses a loopback URL before connecting", async () => {
    // Prepare
    const fetchPage = createPageFetcher();
    const before = seen.length;

    // Act
    const error = await failure(fetchPage(`${base}/page`));

    // Assess
    expect(error).toMatchObject({ code: "refused", statusCode: 400 });
    expect(error.message).toContain("127.0.0.1 (loopback)");
    expect(seen.length).toBe(before);
  });

  it.each([
    ["http://[::1]/", "loopback"],
    ["http://[::ffff:127.0.0.1]/", "loopback"],
    ["http://169.254.169.254/latest/meta-data/", "cloud metadata service"],
    ["http://[fd00:ec2::254]/", "cloud metadata service"],
    ["http://2130706433/", "loopback"],
    ["http://0x7f.1/", "loopback"],
    ["http://10.0.0.5:8080/admin", "private network"],
  ])("refuses %s", async (url, reason) => {
    // Act
    const error = await failure(createPageFetcher()(url));

    // Assess
    expect(error.code).toBe("refused");
    expect(error.message).toContain(reason);
  });

  it("refuses a host name whose DNS answer includes a private address", async () => {
    // Prepare
    const fetchPage = createPageFetcher({
      resolve: async () => [
        { address: "93.184.215.14", family: 4 },
        { address: "fd00:ec2::254", family: 6 },
      ],
    });

    // Act
    const error = await failure(fetchPage("https://study.example/notes"));

    // Assess
    expect(error.code).toBe("refused");
    expect(error.message).toContain("study.example: it resolves to fd00:ec2::254 (cloud metadata service)");
  });

  it("reports a host that does not resolve as unreachable (502), without connecting anywhere", async () => {
    // Prepare
    const fetchPage = createPageFetcher({
      resolve: async () => {
        throw Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" });
      },
    });

    // Act
    const error = await failure(fetchPage("https://no-such-host.example/notes"));

    // Assess
    expect(error).toMatchObject({ code: "unreachable", statusCode: 502 });
    expect(error.message).toBe("The host no-such-host.example could not be found.");
  });

  it("refuses localhost after real resolution", async () => {
    // Act
    const error = await failure(createPageFetcher()(`http://localhost:${new URL(base).port}/page`));

    // Assess
    expect(error.code).toBe("refused");
  });

  it.each(["file:///etc/passwd", "ftp://example.org/x", "gopher://example.org/", "data:text/html,<p>x</p>"])(
    "refuses the non-http scheme of %s",
    async (url) => {
      // Act
      const error = await failure(createPageFetcher()(url));

      // Assess
      expect(error).toMatchObject({ code: "refused", statusCode: 400 });
      expect(error.message).toMatch(/^Only http and https pages can be added/);
    },
  );

  it("refuses credentials in the URL and unparseable URLs", async () => {
    // Act
    const credentials = await failure(createPageFetcher()("http://user:secret@example.org/"));
    const garbage = await failure(createPageFetcher()("not a url"));

    // Assess
    expect(credentials.code).toBe("refused");
    expect(garbage.code).toBe("bad_url");
  });

  it("fetches an allowed page, connecting to the vetted address rather than resolving again", async () => {
    // Prepare: the name resolves once (to the test server); a second resolution would be a rebinding chance.
    let resolutions = 0;
    const fetchPage = createPageFetcher({
      allowAddress: allowTestServer,
      resolve: async () => {
        resolutions++;
        return [{ address: "127.0.0.1", family: 4 }];
      },
    });
    const url = `http://notes.test:${new URL(base).port}/page`;

    // Act
    const page = await fetchPage(url);

    // Assess
    expect(page).toMatchObject({ url, finalUrl: url, contentType: "text/html" });
    expect(page.body).toContain("Water moves across membranes.");
    expect(resolutions).toBe(1);
    expect(seen.at(-1)).toEqual({ path: "/page", host: `notes.test:${new URL(base).port}` });
  });

  it("follows a redirect to an allowed page and reports the final URL", async () => {
    // Act
    const page = await createPageFetcher({ allowAddress: allowTestServer })(`${base}/redirect?to=/plain`);

    // Assess
    expect(page).toMatchObject({ contentType: "text/plain", body: "plain notes", finalUrl: `${base}/plain` });
  });

  it.each([
    ["another loopback address", "http://127.0.0.2/secret", "loopback"],
    ["IPv6 loopback", "http://[::1]/secret", "loopback"],
    ["the metadata service", "http://169.254.169.254/latest/meta-data/iam/", "cloud metadata service"],
    ["a file URL", "file:///etc/passwd", "Only http and https"],
  ])("refuses a redirect to %s", async (_name, target, reason) => {
    // Prepare: the first hop is allowed, the redirect target is not.
    const fetchPage = createPageFetcher({ allowAddress: allowTestServer });

    // Act
    const error = await failure(fetchPage(`${base}/redirect?to=${encodeURIComponent(target)}`));

    // Assess
    expect(error.code).toBe("refused");
    expect(error.message).toContain(reason);
  });

  it("stops after five redirects", async () => {
    // Act
    const error = await failure(createPageFetcher({ allowAddress: allowTestServer })(`${base}/loop`));

    // Assess
    expect(error).toMatchObject({ code: "unreachable", statusCode: 502 });
    expect(error.message).toContain("Too many redirects");
  });

  it("aborts a streamed body beyond the size limit, and refuses a declared oversize body at once", async () => {
    // Prepare
    const fetchPage = createPageFetcher({ allowAddress: allowTestServer, maxBytes: 1024 * 1024 });

    // Act
    const streamed = await failure(fetchPage(`${base}/huge`));
    const declared = await failure(fetchPage(`${base}/declared-huge`));

    // Assess
    expect(streamed).toMatchObject({ code: "too_large", statusCode: 413 });
    expect(declared).toMatchObject({ code: "too_large", statusCode: 413 });
  });

  it("gives up on a slow server at the deadline", async () => {
    // Prepare
    const fetchPage = createPageFetcher({ allowAddress: allowTestServer, timeoutMs: 300 });
    const started = Date.now();

    // Act
    const error = await failure(fetchPage(`${base}/slow`));

    // Assess
    expect(error).toMatchObject({ code: "timeout", statusCode: 502 });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("refuses content types other than HTML and plain text, and HTTP errors", async () => {
    // Prepare
    const fetchPage = createPageFetcher({ allowAddress: allowTestServer });

    // Act
    const pdf = await failure(fetchPage(`${base}/pdf`));
    const missing = await failure(fetchPage(`${base}/missing`));

    // Assess
    expect(pdf).toMatchObject({ code: "unsupported_type", statusCode: 415 });
    expect(missing).toMatchObject({ code: "http_status", statusCode: 502, message: "The page answered HTTP 404." });
  });
});

describe("engine policy", () => {
  it("allows loopback only with RUNTIME=local and the flag explicitly true", () => {
    // Prepare
    const config = { RUNTIME: "local" as const, MAX_UPLOAD_BYTES: 25 * 1024 * 1024, ALLOW_LOOPBACK_FETCH: true };

    // Act
    const flagged = pageFetcherOptionsFor(config);
    const inAws = pageFetcherOptionsFor({ ...config, RUNTIME: "aws" });
    const unset = pageFetcherOptionsFor({ ...config, ALLOW_LOOPBACK_FETCH: false });
    const parsed = loadConfig({ ALLOW_LOOPBACK_FETCH: "true" }).ALLOW_LOOPBACK_FETCH;

    // Assess
    expect(flagged.allowAddress?.("127.0.0.1")).toBe(true);
    expect(flagged.allowAddress?.("::1")).toBe(true);
    expect(flagged.allowAddress?.("10.0.0.1")).toBe(false);
    expect(flagged.allowAddress?.("169.254.169.254")).toBe(false);
    expect(inAws.allowAddress).toBeUndefined();
    expect(unset.allowAddress).toBeUndefined();
    expect(parsed).toBe(true);
    expect(() => loadConfig({ ALLOW_LOOPBACK_FETCH: "1" })).toThrow(/ALLOW_LOOPBACK_FETCH/);
    expect(unset.maxBytes).toBe(5 * 1024 * 1024);
  });
});
