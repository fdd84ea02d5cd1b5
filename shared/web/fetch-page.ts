// SSRF-guarded page fetch for study material added by URL. Every hop (the first request and each
// redirect) is resolved, every resolved address is vetted, and the connection goes to the vetted
// address itself, so a DNS answer that changes between check and connect (rebinding) cannot
// redirect the request into the VPC, the metadata service or the engine's own loopback.
import { lookup as dnsLookup } from "node:dns/promises";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { BlockList, isIP, type LookupFunction } from "node:net";
import type { Config } from "../config/config.ts";
import { AppError } from "../http/errors.ts";

export type PageFetchFailure =
  | "bad_url"
  | "refused"
  | "unsupported_type"
  | "too_large"
  | "timeout"
  | "unreachable"
  | "http_status";

const STATUS: Record<PageFetchFailure, number> = {
  bad_url: 400,
  refused: 400,
  unsupported_type: 415,
  too_large: 413,
  timeout: 502,
  unreachable: 502,
  http_status: 502,
};

/** A page could not be fetched; the message is safe to show (it names the URL's problem, never internals). */
export class PageFetchError extends AppError {
  override readonly name = "PageFetchError";
  constructor(
    readonly code: PageFetchFailure,
    message: string,
  ) {
    super(STATUS[code], message);
  }
}

export interface FetchedPage {
  /** The URL asked for. */
  url: string;
  /** The URL the body came from, after redirects. */
  finalUrl: string;
  contentType: "text/html" | "text/plain";
  body: string;
  bytes: number;
}

export type PageFetcher = (url: string, signal?: AbortSignal) => Promise<FetchedPage>;

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export interface PageFetcherOptions {
  /** Largest body accepted (streamed; the download stops beyond it). */
  maxBytes?: number;
  /** Whole-fetch deadline, redirects and slow bodies included. */
  timeoutMs?: number;
  maxRedirects?: number;
  /**
   * Lets an otherwise forbidden address through. For tests and the explicit local flag only: the
   * production guard never sets it.
   */
  allowAddress?: (ip: string) => boolean;
  /** DNS resolution (all addresses of a host); injectable so tests never touch real DNS. */
  resolve?: (hostname: string) => Promise<ResolvedAddress[]>;
}

export const DEFAULT_PAGE_MAX_BYTES = 5 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_REDIRECTS = 5;
const USER_AGENT = "CollabryStudyBot/1.0 (+imports a page a student added as study material)";

interface Range {
  subnet: string;
  prefix: number;
  reason: string;
}

// Everything that is not the public internet. Order matters only for the reason reported.
const IPV4_RANGES: Range[] = [
  { subnet: "169.254.169.254", prefix: 32, reason: "cloud metadata service" },
  { subnet: "0.0.0.0", prefix: 8, reason: "unspecified/this-network address" },
  { subnet: "10.0.0.0", prefix: 8, reason: "private network" },
  { subnet: "100.64.0.0", prefix: 10, reason: "carrier-grade NAT (CGNAT) range" },
  { subnet: "127.0.0.0", prefix: 8, reason: "loopback" },
  { subnet: "169.254.0.0", prefix: 16, reason: "link-local" },
  { subnet: "172.16.0.0", prefix: 12, reason: "private network" },
  { subnet: "192.0.0.0", prefix: 24, reason: "IETF protocol assignment" },
  { subnet: "192.0.2.0", prefix: 24, reason: "documentation range" },
  { subnet: "192.88.99.0", prefix: 24, reason: "6to4 relay anycast" },
  { subnet: "192.168.0.0", prefix: 16, reason: "private network" },
  { subnet: "198.18.0.0", prefix: 15, reason: "benchmarking range" },
  { subnet: "198.51.100.0", prefix: 24, reason: "documentation range" },
  { subnet: "203.0.113.0", prefix: 24, reason: "documentation range" },
  { subnet: "224.0.0.0", prefix: 4, reason: "multicast" },
  { subnet: "240.0.0.0", prefix: 4, reason: "reserved/broadcast" },
];

const IPV6_RANGES: Range[] = [
  { subnet: "fd00:ec2::254", prefix: 128, reason: "cloud metadata service" },
  { subnet: "::", prefix: 128, reason: "unspecified address" },
  { subnet: "::1", prefix: 128, reason: "loopback" },
  { subnet: "::", prefix: 96, reason: "IPv4-compatible address" },
  { subnet: "100::", prefix: 64, reason: "discard range" },
  { subnet: "2001::", prefix: 32, reason: "Teredo tunnel" },
  { subnet: "2001:db8::", prefix: 32, reason: "documentation range" },
  { subnet: "fc00::", prefix: 7, reason: "unique-local (private) address" },
  { subnet: "fe80::", prefix: 10, reason: "link-local" },
  { subnet: "fec0::", prefix: 10, reason: "site-local" },
  { subnet: "ff00::", prefix: 8, reason: "multicast" },
];

function blockListOf(ranges: Range[], type: "ipv4" | "ipv6"): Array<{ list: BlockList; reason: string }> {
  return ranges.map((range) => {
    const list = new BlockList();
    list.addSubnet(range.subnet, range.prefix, type);
    return { list, reason: range.reason };
  });
}

const IPV4_BLOCKS = blockListOf(IPV4_RANGES, "ipv4");
const IPV6_BLOCKS = blockListOf(IPV6_RANGES, "ipv6");

/** The 8 hextets of an IPv6 address (zone index dropped); undefined when it does not parse. */
function hextets(ip: string): number[] | undefined {
  let address = ip.split("%")[0] ?? "";
  // A trailing dotted IPv4 (::ffff:1.2.3.4) becomes two hextets.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    address = `${address.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = address.split("::");
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((group) => Number.parseInt(group, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return undefined;
  const all = [...left, ...Array<number>(missing).fill(0), ...right];
  return all.every((group) => Number.isInteger(group) && group >= 0 && group <= 0xffff) ? all : undefined;
}

function ipv4From(high: number, low: number): string {
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}

/** The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4), if any: it is vetted as IPv4. */
function embeddedIpv4(ip: string): string | undefined {
  const groups = hextets(ip);
  if (!groups) return undefined;
  const [g0, g1, g2, g3, g4, g5, g6, g7] = groups as [number, number, number, number, number, number, number, number];
  const zeroPrefix = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  if (zeroPrefix && g5 === 0xffff) return ipv4From(g6, g7); // ::ffff:a.b.c.d (IPv4-mapped)
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return ipv4From(g6, g7); // NAT64
  if (g0 === 0x2002) return ipv4From(g1, g2); // 6to4
  return undefined;
}

/** Why an address must not be fetched (loopback, private, metadata…), or undefined for a public address. */
export function forbiddenAddressReason(ip: string): string | undefined {
  const family = isIP(ip.split("%")[0] ?? "");
  if (family === 4) return IPV4_BLOCKS.find(({ list }) => list.check(ip, "ipv4"))?.reason;
  if (family !== 6) return "not an IP address";
  const embedded = embeddedIpv4(ip);
  if (embedded !== undefined) {
    const reason = forbiddenAddressReason(embedded);
    return reason === undefined ? undefined : `${reason} (IPv4 ${embedded} inside IPv6)`;
  }
  const bare = ip.split("%")[0] ?? ip;
  return IPV6_BLOCKS.find(({ list }) => list.check(bare, "ipv6"))?.reason;
}

/** Parses and checks a URL a student gave: http(s) only, no credentials. */
export function parsePageUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new PageFetchError("bad_url", "The URL is not valid. Use a full address such as https://example.org/page.");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new PageFetchError(
      "refused",
      `Only http and https pages can be added (got ${url.protocol.replace(/:$/, "")}).`,
    );
  }
  if (url.username || url.password) {
    throw new PageFetchError("refused", "URLs with a user name or password cannot be added.");
  }
  return url;
}

async function systemResolve(hostname: string): Promise<ResolvedAddress[]> {
  const found = await dnsLookup(hostname, { all: true, verbatim: true });
  return found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
}

function contentTypeOf(header: string | undefined): { type: string; charset?: string } {
  const [type = "", ...params] = (header ?? "").split(";").map((part) => part.trim());
  const charset = params
    .find((param) => /^charset=/i.test(param))
    ?.slice(8)
    .replace(/"/g, "");
  return charset ? { type: type.toLowerCase(), charset } : { type: type.toLowerCase() };
}

function decode(bytes: Buffer, charset: string | undefined): string {
  try {
    return new TextDecoder(charset ?? "utf-8").decode(bytes);
  } catch {
    // An unknown charset label: UTF-8 is the web's default and rarely wrong for study pages.
    return new TextDecoder("utf-8").decode(bytes);
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Creates the guarded fetcher (options are for tests and the local runtime's explicit flag). */
export function createPageFetcher(options: PageFetcherOptions = {}): PageFetcher {
  const maxBytes = options.maxBytes ?? DEFAULT_PAGE_MAX_BYTES;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const resolve = options.resolve ?? systemResolve;

  async function vet(url: URL): Promise<ResolvedAddress> {
    const host = url.hostname.replace(/^\[|\]$/g, "");
    let addresses: ResolvedAddress[];
    const literal = isIP(host);
    if (literal) addresses = [{ address: host, family: literal === 6 ? 6 : 4 }];
    else {
      try {
        addresses = await resolve(host);
      } catch {
        throw new PageFetchError("unreachable", `The host ${host} could not be found.`);
      }
    }
    if (addresses.length === 0) throw new PageFetchError("unreachable", `The host ${host} could not be found.`);
    // Every address must be public: a host that also resolves to a private address is refused
    // rather than raced, because the client library might pick that one.
    for (const { address } of addresses) {
      const reason = forbiddenAddressReason(address);
      if (reason !== undefined && !options.allowAddress?.(address)) {
        throw new PageFetchError(
          "refused",
          `Refusing to fetch ${host}: it resolves to ${address} (${reason}). Only public web pages can be added.`,
        );
      }
    }
    return addresses[0] as ResolvedAddress;
  }

  function get(url: URL, target: ResolvedAddress, signal: AbortSignal): Promise<IncomingMessage> {
    // The socket connects to the vetted address whatever DNS says now (no second resolution).
    const pinned: LookupFunction = (_hostname, lookupOptions, callback) => {
      if (lookupOptions.all) callback(null, [{ address: target.address, family: target.family }]);
      else callback(null, target.address, target.family);
    };
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise((resolvePromise, reject) => {
      const request = send(
        url,
        {
          method: "GET",
          lookup: pinned,
          agent: false,
          signal,
          headers: {
            "user-agent": USER_AGENT,
            accept: "text/html,application/xhtml+xml,text/plain;q=0.9",
            "accept-encoding": "identity",
          },
          ...(isIP(url.hostname.replace(/^\[|\]$/g, "")) ? {} : { servername: url.hostname }),
        },
        resolvePromise,
      );
      request.on("error", reject);
      request.end();
    });
  }

  async function readBody(response: IncomingMessage, signal: AbortSignal): Promise<Buffer> {
    const declared = Number(response.headers["content-length"]);
    if (Number.isFinite(declared) && declared > maxBytes) {
      response.destroy();
      throw new PageFetchError("too_large", `The page is larger than ${Math.round(maxBytes / 1024 / 1024)} MB.`);
    }
    const parts: Buffer[] = [];
    let total = 0;
    for await (const part of response) {
      signal.throwIfAborted();
      const buffer = part as Buffer;
      total += buffer.byteLength;
      if (total > maxBytes) {
        response.destroy();
        throw new PageFetchError("too_large", `The page is larger than ${Math.round(maxBytes / 1024 / 1024)} MB.`);
      }
      parts.push(buffer);
    }
    return Buffer.concat(parts);
  }

  return async function fetchPage(raw: string, outerSignal?: AbortSignal): Promise<FetchedPage> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error("page fetch deadline")), timeoutMs);
    const onOuterAbort = () => controller.abort(outerSignal?.reason);
    outerSignal?.addEventListener("abort", onOuterAbort, { once: true });
    const first = parsePageUrl(raw);
    let url = first;
    try {
      for (let hop = 0; ; hop++) {
        const target = await vet(url);
        let response: IncomingMessage;
        try {
          response = await get(url, target, controller.signal);
        } catch (error) {
          if (controller.signal.aborted) throw error;
          throw new PageFetchError("unreachable", `The page at ${url.host} could not be reached.`);
        }
        const status = response.statusCode ?? 0;
        const location = response.headers.location;
        if (REDIRECTS.has(status) && location) {
          response.destroy();
          if (hop >= maxRedirects)
            throw new PageFetchError("unreachable", `Too many redirects (more than ${maxRedirects}).`);
          let next: URL;
          try {
            next = new URL(location, url);
          } catch {
            throw new PageFetchError("unreachable", "The page redirected to an invalid address.");
          }
          // The redirect target gets the same scheme, DNS and address checks as the first URL.
          url = parsePageUrl(next.href);
          continue;
        }
        if (status < 200 || status > 299) {
          response.destroy();
          throw new PageFetchError("http_status", `The page answered HTTP ${status}.`);
        }
        const { type, charset } = contentTypeOf(response.headers["content-type"]);
        const contentType =
          type === "text/html" || type === "application/xhtml+xml"
            ? "text/html"
            : type === "text/plain"
              ? "text/plain"
              : undefined;
        if (!contentType) {
          response.destroy();
          throw new PageFetchError(
            "unsupported_type",
            `The page is ${type || "of an unknown type"}; only HTML and plain-text pages can be added (upload files instead).`,
          );
        }
        const bytes = await readBody(response, controller.signal);
        return {
          url: first.href,
          finalUrl: url.href,
          contentType,
          body: decode(bytes, charset),
          bytes: bytes.byteLength,
        };
      }
    } catch (error) {
      if (error instanceof PageFetchError) throw error;
      if (outerSignal?.aborted) throw error;
      if (controller.signal.aborted) {
        throw new PageFetchError("timeout", `The page did not load within ${Math.round(timeoutMs / 1000)} seconds.`);
      }
      throw new PageFetchError("unreachable", `The page at ${url.host} could not be read.`);
    } finally {
      clearTimeout(timer);
      outerSignal?.removeEventListener("abort", onOuterAbort);
    }
  };
}

/**
 * The fetcher options the engine runs with. The loopback exception (ALLOW_LOOPBACK_FETCH, for
 * integration tests that serve pages on 127.0.0.1) is honoured only when RUNTIME=local: a
 * deployed engine cannot be talked into it.
 */
export function pageFetcherOptionsFor(
  config: Pick<Config, "RUNTIME" | "MAX_UPLOAD_BYTES" | "ALLOW_LOOPBACK_FETCH">,
): PageFetcherOptions {
  const maxBytes = Math.min(DEFAULT_PAGE_MAX_BYTES, config.MAX_UPLOAD_BYTES);
  if (config.RUNTIME !== "local" || !config.ALLOW_LOOPBACK_FETCH) return { maxBytes };
  return { maxBytes, allowAddress: (ip) => ip === "::1" || /^127\.\d+\.\d+\.\d+$/.test(ip) };
}
