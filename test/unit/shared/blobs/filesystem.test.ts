import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFilesystemBlobStore, verifyLocalUploadPolicy } from "#shared/blobs/filesystem.ts";
import { ForbiddenError } from "#shared/http/errors.ts";
import { describeBlobStoreContract } from "./contract.ts";

const SECRET = "test-signing-secret-0123456789";

let baseDir: string;
let counter = 0;

beforeAll(() => {
  baseDir = mkdtempSync(join(tmpdir(), "collabry-fs-blobs-"));
});

afterAll(() => {
  rmSync(baseDir, { recursive: true, force: true });
});

function freshRoot(): string {
  counter += 1;
  return join(baseDir, `root-${counter}`);
}

describeBlobStoreContract("filesystem", async () => {
  const store = createFilesystemBlobStore({ root: freshRoot(), signingSecret: SECRET });
  return { store, cleanup: async () => {} };
});

describe("filesystem blob store", () => {
  it("rejects keys that could escape the root", async () => {
    // Prepare
    const root = freshRoot();
    const store = createFilesystemBlobStore({ root, signingSecret: SECRET });
    const body = new TextEncoder().encode("x");
    const hostile = [
      "../outside",
      "users/../../outside",
      "/etc/passwd",
      "users\\..\\x",
      "a\0b",
      "",
      "a//b",
      "./a",
      ".~temp",
    ];

    // Act
    const results = await Promise.allSettled(hostile.map((key) => store.put(key, body)));
    const reads = await Promise.allSettled([store.get("../outside"), store.list("../"), store.deletePrefix("/etc/")]);

    // Assess
    expect(results.map((r) => r.status)).toEqual(hostile.map(() => "rejected"));
    expect(reads.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    expect(existsSync(join(baseDir, "outside"))).toBe(false);
  });

  it("leaves no temp files behind and removes emptied directories", async () => {
    // Prepare
    const root = freshRoot();
    const store = createFilesystemBlobStore({ root, signingSecret: SECRET });
    await store.put("users/u1/sources/s1/a.txt", new TextEncoder().encode("a"));
    await store.put("users/u1/sources/s1/a.txt", new TextEncoder().encode("b"));
    await expect(store.put("users/u1/sources/s1/a.txt", new Uint8Array(1), { ifNoneMatch: true })).rejects.toThrow();

    // Act
    const filesBefore = readdirSync(join(root, "users/u1/sources/s1"));
    await store.deletePrefix("users/u1/sources/");

    // Assess
    expect(filesBefore).toEqual(["a.txt"]);
    expect(readdirSync(root)).toEqual([]);
  });

  it("lets exactly one of concurrent ifNoneMatch writers win", async () => {
    // Prepare
    const store = createFilesystemBlobStore({ root: freshRoot(), signingSecret: SECRET });
    const writers = Array.from({ length: 8 }, (_, i) => new TextEncoder().encode(`writer ${i}`));

    // Act
    const results = await Promise.allSettled(
      writers.map((body) => store.put("index/v2.faiss", body, { ifNoneMatch: true })),
    );

    // Assess
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(new TextDecoder().decode(await store.get("index/v2.faiss"))).toMatch(/^writer \d$/);
  });

  it("refuses a short signing secret", () => {
    // Act
    const create = () => createFilesystemBlobStore({ root: freshRoot(), signingSecret: "short" });

    // Assess
    expect(create).toThrow(/signingSecret/);
  });
});

describe("local upload policy", () => {
  async function presign(expiresInSeconds = 300) {
    const store = createFilesystemBlobStore({
      root: freshRoot(),
      publicBaseUrl: "http://127.0.0.1:8000/",
      signingSecret: SECRET,
    });
    return store.presignUpload("users/u1/uploads/s1/notes.pdf", {
      contentType: "application/pdf",
      minBytes: 1,
      maxBytes: 5_000_000,
      expiresInSeconds,
    });
  }

  it("points at the local upload route and verifies with the same rules", async () => {
    // Prepare
    const upload = await presign();

    // Act
    const policy = verifyLocalUploadPolicy(upload.fields, SECRET, new Date());

    // Assess
    expect(upload.url).toBe("http://127.0.0.1:8000/local-uploads");
    expect(policy).toEqual({
      key: "users/u1/uploads/s1/notes.pdf",
      contentType: "application/pdf",
      minBytes: 1,
      maxBytes: 5_000_000,
      expiresAt: upload.expiresAt,
    });
  });

  it("rejects a form whose key, type or policy was changed", async () => {
    // Prepare
    const upload = await presign();
    const policyJson = JSON.parse(Buffer.from(upload.fields.policy ?? "", "base64").toString("utf8"));
    const widened = Buffer.from(JSON.stringify({ ...policyJson, maxBytes: 10_000_000_000 })).toString("base64");
    const forms = [
      { ...upload.fields, key: "users/u2/uploads/s1/notes.pdf" },
      { ...upload.fields, "Content-Type": "text/html" },
      { ...upload.fields, policy: widened },
      { ...upload.fields, signature: "00".repeat(32) },
      { ...upload.fields, signature: undefined },
    ];

    // Act
    const outcomes = forms.map((form) => {
      try {
        verifyLocalUploadPolicy(form, SECRET, new Date());
        return "accepted";
      } catch (error) {
        return error instanceof ForbiddenError ? "forbidden" : "other error";
      }
    });

    // Assess
    expect(outcomes).toEqual(["forbidden", "forbidden", "forbidden", "forbidden", "forbidden"]);
  });

  it("rejects a policy signed with another secret", async () => {
    // Prepare
    const upload = await presign();

    // Act
    const verify = () => verifyLocalUploadPolicy(upload.fields, "another-secret-0123456789", new Date());

    // Assess
    expect(verify).toThrow(ForbiddenError);
  });

  it("rejects an expired policy", async () => {
    // Prepare
    const upload = await presign(60);
    const later = new Date(upload.expiresAt.getTime() + 1000);

    // Act
    const verify = () => verifyLocalUploadPolicy(upload.fields, SECRET, later);

    // Assess
    expect(verify).toThrow(/expired/);
  });
});
