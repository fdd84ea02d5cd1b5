// Filesystem blob store: the local adapter, one file per key under `root` (DATA_DIR/blobs).
//
// Why this shape:
// - Every write goes to a temp file in the destination directory, is fsynced, then renamed (or
//   hard-linked for `ifNoneMatch`) into place, and the directory is fsynced: a crash leaves either
//   the old object or the new one, never a torn file. Same directory means same filesystem, so the
//   rename is atomic.
// - `link(temp, final)` fails with EEXIST when the final name exists, which makes `ifNoneMatch` an
//   atomic create-if-absent even between processes sharing DATA_DIR (rename would overwrite).
// - Keys are validated before they touch a path: no `..`, `.`, empty segments, absolute paths,
//   backslashes or NUL, so no key can reach outside `root`. Segments starting with `.~` are
//   reserved for temp files.
// - Content types are not stored (no sidecar files to keep consistent); `head` omits them. The
//   worker sniffs the real type from the bytes anyway.
// - Presigned uploads are served by the local runtime's own upload route: the policy is an HMAC-signed
//   JSON document carrying the same rules as S3's POST policy (key, type, size range, expiry), and
//   the route enforces them with `verifyLocalUploadPolicy`.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { type Dirent, promises as fs } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { ForbiddenError } from "../http/errors.ts";
import { z } from "../validation/zod.ts";
import { BlobExistsError, type BlobHead, type BlobStore, type PresignedUpload } from "./blobs.ts";

export interface FilesystemBlobStoreOptions {
  root: string;
  /** Origin the browser reaches the local runtime at (e.g. `http://localhost:8000`). */
  publicBaseUrl?: string;
  /** Secret that signs presigned upload policies; the upload route verifies with the same one. */
  signingSecret: string;
}

/** The rules a local presigned upload must satisfy, as signed into its policy. */
export interface LocalUploadPolicy {
  key: string;
  contentType: string;
  minBytes: number;
  maxBytes: number;
  expiresAt: Date;
}

const TEMP_PREFIX = ".~";

const policySchema = z.object({
  key: z.string().min(1),
  contentType: z.string().min(1),
  minBytes: z.number().int().nonnegative(),
  maxBytes: z.number().int().nonnegative(),
  expiresAt: z.iso.datetime(),
});

function checkSegments(segments: string[], what: string, value: string): void {
  for (const segment of segments) {
    if (segment === "" || segment === "." || segment === ".." || segment.startsWith(TEMP_PREFIX)) {
      throw new Error(`invalid blob ${what}: ${JSON.stringify(value)}`);
    }
  }
}

function checkCharacters(value: string, what: string): void {
  if (value.includes("\0") || value.includes("\\") || value.startsWith("/")) {
    throw new Error(`invalid blob ${what}: ${JSON.stringify(value)}`);
  }
}

/** Validates a key and returns its path segments; throws for anything that could leave the root. */
function keySegments(key: string): string[] {
  checkCharacters(key, "key");
  const segments = key.split("/");
  checkSegments(segments, "key", key);
  return segments;
}

/** Validates a prefix (which may end with "/" or be empty) and returns its directory part's segments. */
function prefixDirSegments(prefix: string): string[] {
  checkCharacters(prefix, "prefix");
  const segments = prefix.split("/");
  // The last segment is a partial name (or empty after a trailing "/"); only whole segments are dirs.
  const last = segments.pop() ?? "";
  if (last === "." || last === ".." || last.startsWith(TEMP_PREFIX)) {
    throw new Error(`invalid blob prefix: ${JSON.stringify(prefix)}`);
  }
  checkSegments(segments, "prefix", prefix);
  return segments;
}

function isErrno(error: unknown, ...codes: string[]): boolean {
  return error instanceof Error && "code" in error && codes.includes(String(error.code));
}

async function fsyncDir(path: string): Promise<void> {
  const handle = await fs.open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function sign(policy: string, secret: string): string {
  return createHmac("sha256", secret).update(policy).digest("hex");
}

/** Creates the filesystem blob store rooted at `options.root` (created on first write). */
export function createFilesystemBlobStore(options: FilesystemBlobStoreOptions): BlobStore {
  const { signingSecret } = options;
  const root = resolve(options.root);
  if (signingSecret.length < 16) {
    // A short secret would make forged upload policies practical.
    throw new Error("filesystem blob store: signingSecret must be at least 16 characters");
  }
  const publicBaseUrl = (options.publicBaseUrl ?? "http://localhost:8000").replace(/\/+$/, "");

  const pathOf = (key: string): string => join(root, ...keySegments(key));

  async function walk(dir: string, relative: string, out: string[]): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (isErrno(error, "ENOENT", "ENOTDIR")) return;
      throw error;
    }
    for (const entry of entries) {
      if (entry.name.startsWith(TEMP_PREFIX)) continue;
      const key = relative === "" ? entry.name : `${relative}/${entry.name}`;
      // Symlinks are never followed: nothing outside the root may be listed or deleted.
      if (entry.isDirectory()) await walk(join(dir, entry.name), key, out);
      else if (entry.isFile()) out.push(key);
    }
  }

  async function list(prefix: string): Promise<string[]> {
    const dirSegments = prefixDirSegments(prefix);
    const keys: string[] = [];
    await walk(join(root, ...dirSegments), dirSegments.join("/"), keys);
    return keys.filter((key) => key.startsWith(prefix)).sort();
  }

  /** Removes now-empty directories from `dir` up to (not including) the root. */
  async function pruneEmptyDirs(dir: string): Promise<void> {
    let current = dir;
    while (current !== root && current.startsWith(root + sep)) {
      try {
        await fs.rmdir(current);
      } catch (error) {
        if (isErrno(error, "ENOTEMPTY", "EEXIST", "ENOENT")) return;
        throw error;
      }
      current = dirname(current);
    }
  }

  return {
    kind: "filesystem",

    async put(key, body, putOptions) {
      const path = pathOf(key);
      const dir = dirname(path);
      await fs.mkdir(dir, { recursive: true });
      const temp = join(dir, `${TEMP_PREFIX}${randomBytes(8).toString("hex")}.partial`);
      try {
        const handle = await fs.open(temp, "wx");
        try {
          await handle.writeFile(body);
          await handle.sync();
        } finally {
          await handle.close();
        }
        if (putOptions?.ifNoneMatch) {
          try {
            await fs.link(temp, path);
          } catch (error) {
            if (isErrno(error, "EEXIST")) throw new BlobExistsError(`blob already exists: ${key}`);
            throw error;
          }
          await fs.unlink(temp);
        } else {
          await fs.rename(temp, path);
        }
        await fsyncDir(dir);
      } catch (error) {
        await fs.rm(temp, { force: true });
        throw error;
      }
    },

    async get(key) {
      try {
        return new Uint8Array(await fs.readFile(pathOf(key)));
      } catch (error) {
        if (isErrno(error, "ENOENT", "ENOTDIR", "EISDIR")) return undefined;
        throw error;
      }
    },

    async head(key): Promise<BlobHead | undefined> {
      try {
        const stat = await fs.stat(pathOf(key));
        if (!stat.isFile()) return undefined;
        return { key, size: stat.size, lastModified: stat.mtime };
      } catch (error) {
        if (isErrno(error, "ENOENT", "ENOTDIR")) return undefined;
        throw error;
      }
    },

    async delete(key) {
      const path = pathOf(key);
      try {
        await fs.unlink(path);
      } catch (error) {
        if (isErrno(error, "ENOENT", "ENOTDIR")) return;
        throw error;
      }
      await pruneEmptyDirs(dirname(path));
    },

    async deletePrefix(prefix) {
      const keys = await list(prefix);
      let deleted = 0;
      for (const key of keys) {
        try {
          await fs.unlink(pathOf(key));
          deleted += 1;
        } catch (error) {
          // Deleted concurrently by someone else: still gone, just not by us.
          if (!isErrno(error, "ENOENT")) throw error;
        }
      }
      // Deepest directories first, so each parent is empty by the time it is tried.
      const dirs = [...new Set(keys.map((key) => dirname(pathOf(key))))].sort((a, b) => b.length - a.length);
      for (const dir of dirs) await pruneEmptyDirs(dir);
      return deleted;
    },

    list,

    async presignUpload(key, presign): Promise<PresignedUpload> {
      keySegments(key);
      const expiresAt = new Date(Date.now() + presign.expiresInSeconds * 1000);
      const policy = Buffer.from(
        JSON.stringify({
          key,
          contentType: presign.contentType,
          minBytes: presign.minBytes,
          maxBytes: presign.maxBytes,
          expiresAt: expiresAt.toISOString(),
        }),
      ).toString("base64");
      return {
        url: `${publicBaseUrl}/local-uploads`,
        fields: {
          key,
          "Content-Type": presign.contentType,
          policy,
          signature: sign(policy, signingSecret),
        },
        expiresAt,
      };
    },
  };
}

/**
 * Checks a local upload form's policy and signature; returns the signed rules, or throws a 403
 * ForbiddenError when the form was tampered with or the policy expired.
 */
export function verifyLocalUploadPolicy(
  fields: Record<string, string | undefined>,
  signingSecret: string,
  now: Date = new Date(),
): LocalUploadPolicy {
  const { policy, signature } = fields;
  if (policy === undefined || signature === undefined) throw new ForbiddenError("Upload policy missing");
  const expected = Buffer.from(sign(policy, signingSecret), "hex");
  const given = Buffer.from(signature, "hex");
  // Constant-time comparison so the signature cannot be guessed byte by byte from timings.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new ForbiddenError("Upload policy signature does not match");
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(policy, "base64").toString("utf8"));
  } catch {
    throw new ForbiddenError("Upload policy is malformed");
  }
  const parsed = policySchema.safeParse(decoded);
  if (!parsed.success) throw new ForbiddenError("Upload policy is malformed");
  const rules: LocalUploadPolicy = { ...parsed.data, expiresAt: new Date(parsed.data.expiresAt) };
  // Like S3, the form's own key and type fields must equal what the policy pins.
  if (fields.key !== rules.key) throw new ForbiddenError("Upload key does not match the policy");
  if (fields["Content-Type"] !== rules.contentType) {
    throw new ForbiddenError("Upload content type does not match the policy");
  }
  if (now.getTime() > rules.expiresAt.getTime()) throw new ForbiddenError("Upload policy has expired");
  return rules;
}
