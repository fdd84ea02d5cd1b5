import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlobExistsError } from "#shared/blobs/blobs.ts";
import { createS3BlobStore } from "#shared/blobs/s3.ts";
import { describeBlobStoreContract } from "./contract.ts";

// s3rver 3.7 mints ListObjectsV2 continuation tokens with DES, which Node 20's OpenSSL 3 only
// offers through the legacy provider; so it runs in a child Node with that flag, on loopback.
const s3rverModule = createRequire(import.meta.url).resolve("s3rver");
const serverScript = `
const S3rver = require(${JSON.stringify(s3rverModule)});
new S3rver({ address: "127.0.0.1", port: 0, directory: process.argv[1], silent: true })
  .run()
  .then((address) => console.log(JSON.stringify({ port: address.port })));
`;

let server: ChildProcess;
let directory: string;
let client: S3Client;
let endpoint: string;
let bucketCounter = 0;

async function startS3rver(dir: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ["--openssl-legacy-provider", "-e", serverScript, dir], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const stdout = child.stdout;
  if (!stdout) throw new Error("s3rver child has no stdout");
  const [line] = (await once(stdout, "data")) as [Buffer];
  const { port } = JSON.parse(line.toString("utf8")) as { port: number };
  return { child, port };
}

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), "collabry-s3rver-"));
  const started = await startS3rver(directory);
  server = started.child;
  endpoint = `http://127.0.0.1:${started.port}`;
  client = new S3Client({
    region: "us-east-1",
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  });
});

afterAll(async () => {
  client.destroy();
  const exited = once(server, "exit");
  server.kill();
  await exited;
  rmSync(directory, { recursive: true, force: true });
});

async function freshBucket(): Promise<string> {
  bucketCounter += 1;
  const bucket = `collabry-test-${bucketCounter}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

// A page size of 7 makes the contract's 30-key prefix span several list and delete pages.
describeBlobStoreContract("s3 (s3rver)", async () => {
  const store = createS3BlobStore({ bucket: await freshBucket(), client, pageSize: 7 });
  return { store, cleanup: async () => {} };
});

describe("s3 blob store", () => {
  it("keeps the content type of an object", async () => {
    // Prepare
    const store = createS3BlobStore({ bucket: await freshBucket(), client });

    // Act
    await store.put("users/u1/notes.md", new TextEncoder().encode("# Notes"), { contentType: "text/markdown" });

    // Assess
    expect(await store.head("users/u1/notes.md")).toMatchObject({ size: 7, contentType: "text/markdown" });
  });

  it("builds its own cached client from endpoint options", async () => {
    // Prepare
    const options = {
      bucket: await freshBucket(),
      region: "us-east-1",
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    };
    const writer = createS3BlobStore(options);
    const reader = createS3BlobStore(options);

    // Act
    await writer.put("k.txt", new TextEncoder().encode("shared"));

    // Assess
    expect(new TextDecoder().decode(await reader.get("k.txt"))).toBe("shared");
    await expect(writer.put("k.txt", new Uint8Array(1), { ifNoneMatch: true })).rejects.toBeInstanceOf(BlobExistsError);
  });

  it("presigns a POST policy pinning key, size range, content type and expiry", async () => {
    // Prepare
    const store = createS3BlobStore({ bucket: await freshBucket(), client });

    // Act
    const upload = await store.presignUpload("users/u1/uploads/s1/notes.pdf", {
      contentType: "application/pdf",
      minBytes: 1,
      maxBytes: 1024,
      expiresInSeconds: 600,
    });
    const policy = JSON.parse(Buffer.from(upload.fields.Policy ?? "", "base64").toString("utf8")) as {
      expiration: string;
      conditions: unknown[];
    };

    // Assess
    expect(policy.conditions).toEqual(
      expect.arrayContaining([
        { key: "users/u1/uploads/s1/notes.pdf" },
        ["content-length-range", 1, 1024],
        ["eq", "$Content-Type", "application/pdf"],
      ]),
    );
    expect(Math.abs(new Date(policy.expiration).getTime() - upload.expiresAt.getTime())).toBeLessThan(2000);
    expect(upload.fields["X-Amz-Signature"]).toMatch(/^[0-9a-f]{64}$/);
  });

  it("accepts a browser-style multipart POST of the presigned form", async () => {
    // Prepare
    const bucket = await freshBucket();
    const store = createS3BlobStore({ bucket, client });
    const upload = await store.presignUpload("users/u1/uploads/s2/page.txt", {
      contentType: "text/plain",
      minBytes: 1,
      maxBytes: 1024,
      expiresInSeconds: 600,
    });
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
    // S3 requires the file to be the last field.
    form.append("file", new Blob(["uploaded from a browser"], { type: "text/plain" }), "page.txt");

    // Act
    const response = await fetch(upload.url, { method: "POST", body: form });

    // Assess
    expect(response.status).toBe(204);
    expect(upload.url).toBe(`${endpoint}/${bucket}`);
    expect(new TextDecoder().decode(await store.get("users/u1/uploads/s2/page.txt"))).toBe("uploaded from a browser");
  });
});
