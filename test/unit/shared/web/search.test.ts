// The Serper adapter against a loopback stub of its API, and the 503 adapter without a key.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSerperWebSearch, createWebSearch, WEB_SEARCH_NOT_CONFIGURED } from "#shared/web/search.ts";

let server: Server;
let baseUrl: string;
const received: Array<{ path: string; key: string | undefined; body: unknown }> = [];
let reply: { status: number; body: string } = { status: 200, body: "{}" };

beforeAll(async () => {
  server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (part: Buffer) => parts.push(part));
    req.on("end", () => {
      received.push({
        path: req.url ?? "",
        key: req.headers["x-api-key"] as string | undefined,
        body: JSON.parse(Buffer.concat(parts).toString("utf8") || "null"),
      });
      res.writeHead(reply.status, { "content-type": "application/json" });
      res.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe("Serper web search", () => {
  it("posts the query with the key and maps organic results, dropping non-http links", async () => {
    // Prepare
    reply = {
      status: 200,
      body: JSON.stringify({
        organic: [
          {
            title: "Photosynthesis course",
            link: "https://www.coursera.org/learn/photo",
            snippet: "Rated 4.8",
            rating: 4.8,
          },
          { title: "Bad link", link: "javascript:alert(1)", snippet: "x" },
          { title: "Khan Academy", link: "https://www.khanacademy.org/science/photosynthesis" },
        ],
      }),
    };
    const search = createSerperWebSearch({ apiKey: "test-key", baseUrl });

    // Act
    const results = await search.search("photosynthesis course", { limit: 5 });

    // Assess
    expect(received.at(-1)).toEqual({ path: "/search", key: "test-key", body: { q: "photosynthesis course", num: 5 } });
    expect(results).toEqual([
      {
        title: "Photosynthesis course",
        url: "https://www.coursera.org/learn/photo",
        snippet: "Rated 4.8",
        rating: 4.8,
      },
      { title: "Khan Academy", url: "https://www.khanacademy.org/science/photosynthesis", snippet: "" },
    ]);
  });

  it("answers 503 when the provider refuses the key and 502 on other failures", async () => {
    // Prepare
    const search = createSerperWebSearch({ apiKey: "wrong", baseUrl });

    // Act
    reply = { status: 403, body: '{"message":"Unauthorized"}' };
    const refused = await search.search("x").catch((error: unknown) => error);
    reply = { status: 500, body: "oops" };
    const broken = await search.search("x").catch((error: unknown) => error);

    // Assess
    expect(refused).toMatchObject({ statusCode: 503 });
    expect(broken).toMatchObject({ statusCode: 502, message: "Web search failed (HTTP 500). Please try again." });
  });

  it("answers the contract's 503 when no key is configured", async () => {
    // Prepare
    const search = await createWebSearch({ SERPER_API_KEY: undefined, SERPER_API_KEY_SECRET_ARN: undefined });

    // Act
    const error = await search.search("anything").catch((failure: unknown) => failure);

    // Assess
    expect(search.configured).toBe(false);
    expect(error).toMatchObject({ statusCode: 503, message: WEB_SEARCH_NOT_CONFIGURED });
  });

  it("uses a configured key", async () => {
    // Prepare
    reply = { status: 200, body: JSON.stringify({ organic: [] }) };
    const search = await createWebSearch(
      { SERPER_API_KEY: "configured-key", SERPER_API_KEY_SECRET_ARN: undefined },
      { baseUrl },
    );

    // Act
    const results = await search.search("empty");

    // Assess
    expect(search.configured).toBe(true);
    expect(results).toEqual([]);
    expect(received.at(-1)?.key).toBe("configured-key");
  });
});
