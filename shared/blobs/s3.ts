// S3 blob store: the AWS adapter (also any S3-compatible endpoint, e.g. s3rver in tests).
//
// - Clients are cached at module scope by region/endpoint/credentials, so a warm Lambda reuses its
//   connection pool across invocations instead of paying a TLS handshake per request.
// - `ifNoneMatch` sends `If-None-Match: *` (S3 conditional writes, atomic on AWS) and also checks
//   with HeadObject first, because some S3-compatible servers (s3rver 3.7) ignore the header on PUT.
//   On such servers the check is best-effort (a race between HEAD and PUT is possible); on AWS the
//   header makes it atomic.
// - Browser uploads use a presigned POST whose policy pins the key, the content type and the size
//   range, so a client cannot write elsewhere or upload more than its quota allows.
// - The SDK modules are imported on first use, not with this module: evaluating the S3 client and
//   the presigner costs hundreds of milliseconds of a Lambda's cold start, and a function that
//   answers without touching S3 (or before it does) should not pay it.
import type { S3Client } from "@aws-sdk/client-s3";
import { BlobExistsError, type BlobHead, type BlobStore, type PresignedUpload } from "./blobs.ts";

export interface S3BlobStoreOptions {
  bucket: string;
  region?: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** A ready client (tests, custom middleware); bypasses the module-level cache. */
  client?: S3Client;
  /** Keys per ListObjectsV2 page and per DeleteObjects call; S3's maximum (and default) is 1000. */
  pageSize?: number;
}

type S3Sdk = typeof import("@aws-sdk/client-s3");

let sdk: Promise<S3Sdk> | undefined;
let presigner: Promise<typeof import("@aws-sdk/s3-presigned-post")> | undefined;

/** The S3 client module, imported once per process; a failed import is retried by the next call. */
function loadSdk(): Promise<S3Sdk> {
  sdk ??= import("@aws-sdk/client-s3").catch((error: unknown) => {
    sdk = undefined;
    throw error;
  });
  return sdk;
}

function loadPresigner(): Promise<typeof import("@aws-sdk/s3-presigned-post")> {
  presigner ??= import("@aws-sdk/s3-presigned-post").catch((error: unknown) => {
    presigner = undefined;
    throw error;
  });
  return presigner;
}

const clients = new Map<string, S3Client>();

function cachedClient({ S3Client }: S3Sdk, options: S3BlobStoreOptions): S3Client {
  const cacheKey = JSON.stringify([
    options.region ?? "",
    options.endpoint ?? "",
    options.forcePathStyle ?? false,
    options.credentials?.accessKeyId ?? "",
  ]);
  let client = clients.get(cacheKey);
  if (!client) {
    client = new S3Client({
      ...(options.region ? { region: options.region } : {}),
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.forcePathStyle !== undefined ? { forcePathStyle: options.forcePathStyle } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
    });
    clients.set(cacheKey, client);
  }
  return client;
}

function isNotFound({ S3ServiceException }: S3Sdk, error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  return error.name === "NoSuchKey" || error.name === "NotFound" || error.$metadata.httpStatusCode === 404;
}

function isPreconditionFailed({ S3ServiceException }: S3Sdk, error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  // 409 ConditionalRequestConflict: a concurrent conditional write to the same key won the race.
  return (
    error.name === "PreconditionFailed" ||
    error.$metadata.httpStatusCode === 412 ||
    error.name === "ConditionalRequestConflict"
  );
}

/** Creates the S3 blob store for one bucket. */
export function createS3BlobStore(options: S3BlobStoreOptions): BlobStore {
  const { bucket } = options;
  // The SDK and the client, resolved on the first operation and kept for the store's life.
  let ready: Promise<{ s3: S3Sdk; client: S3Client }> | undefined;
  const connect = () => {
    ready ??= loadSdk().then((s3) => ({ s3, client: options.client ?? cachedClient(s3, options) }));
    return ready.catch((error: unknown) => {
      ready = undefined;
      throw error;
    });
  };
  const pageSize = options.pageSize ?? 1000;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
    throw new Error("S3 blob store: pageSize must be an integer between 1 and 1000");
  }

  async function head(key: string): Promise<BlobHead | undefined> {
    const { s3, client } = await connect();
    try {
      const out = await client.send(new s3.HeadObjectCommand({ Bucket: bucket, Key: key }));
      return {
        key,
        size: out.ContentLength ?? 0,
        ...(out.ContentType ? { contentType: out.ContentType } : {}),
        lastModified: out.LastModified ?? new Date(0),
      };
    } catch (error) {
      if (isNotFound(s3, error)) return undefined;
      throw error;
    }
  }

  async function listPage(prefix: string, token: string | undefined): Promise<{ keys: string[]; next?: string }> {
    const { s3, client } = await connect();
    const out = await client.send(
      new s3.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: pageSize, ContinuationToken: token }),
    );
    const keys = (out.Contents ?? []).flatMap((object) => (object.Key === undefined ? [] : [object.Key]));
    return out.IsTruncated && out.NextContinuationToken ? { keys, next: out.NextContinuationToken } : { keys };
  }

  return {
    kind: "s3",

    async put(key, body, putOptions) {
      if (putOptions?.ifNoneMatch && (await head(key))) {
        throw new BlobExistsError(`blob already exists: ${key}`);
      }
      const { s3, client } = await connect();
      try {
        await client.send(
          new s3.PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: body,
            ContentLength: body.byteLength,
            ...(putOptions?.contentType ? { ContentType: putOptions.contentType } : {}),
            ...(putOptions?.ifNoneMatch ? { IfNoneMatch: "*" } : {}),
          }),
        );
      } catch (error) {
        if (putOptions?.ifNoneMatch && isPreconditionFailed(s3, error)) {
          throw new BlobExistsError(`blob already exists: ${key}`);
        }
        throw error;
      }
    },

    async get(key) {
      const { s3, client } = await connect();
      try {
        const out = await client.send(new s3.GetObjectCommand({ Bucket: bucket, Key: key }));
        if (!out.Body) return new Uint8Array();
        return await out.Body.transformToByteArray();
      } catch (error) {
        if (isNotFound(s3, error)) return undefined;
        throw error;
      }
    },

    head,

    async delete(key) {
      // S3 answers 204 for a missing key, so "already gone" needs no special case.
      const { s3, client } = await connect();
      await client.send(new s3.DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },

    async deletePrefix(prefix) {
      let deleted = 0;
      // Always re-list from the start: the page just deleted is gone, so the next page comes first.
      // This avoids relying on a continuation token across deletions.
      for (;;) {
        const { keys } = await listPage(prefix, undefined);
        if (keys.length === 0) return deleted;
        const { s3, client } = await connect();
        const out = await client.send(
          new s3.DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
          }),
        );
        const errors = out.Errors ?? [];
        if (errors.length > 0) {
          // Failing instead of looping: a key that cannot be deleted would be listed again forever.
          const first = errors[0];
          throw new Error(`S3 DeleteObjects failed for ${errors.length} key(s), first: ${first?.Key} ${first?.Code}`);
        }
        deleted += keys.length;
      }
    },

    async list(prefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await listPage(prefix, token);
        keys.push(...page.keys);
        token = page.next;
      } while (token);
      // S3 already lists in UTF-8 binary order; sorting keeps the port's promise on other servers.
      return keys.sort();
    },

    async presignUpload(key, presign): Promise<PresignedUpload> {
      const expiresAt = new Date(Date.now() + presign.expiresInSeconds * 1000);
      const [{ client }, { createPresignedPost }] = await Promise.all([connect(), loadPresigner()]);
      const { url, fields } = await createPresignedPost(client, {
        Bucket: bucket,
        // Key pins the object name: the SDK adds `{key: <key>}` to the policy's conditions.
        Key: key,
        Conditions: [
          ["content-length-range", presign.minBytes, presign.maxBytes],
          ["eq", "$Content-Type", presign.contentType],
        ],
        Fields: { "Content-Type": presign.contentType },
        Expires: presign.expiresInSeconds,
      });
      return { url, fields, expiresAt };
    },
  };
}
