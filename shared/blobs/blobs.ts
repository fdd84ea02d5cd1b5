// Blob port: S3 in AWS, the filesystem under DATA_DIR locally (or any S3-compatible server via
// S3_ENDPOINT). Keys are always built by the engine from the verified user id, never by a client.

export interface PutOptions {
  contentType?: string;
  /** Only write when no object exists under the key (used to publish shard versions). */
  ifNoneMatch?: boolean;
}

export interface BlobHead {
  key: string;
  size: number;
  contentType?: string;
  lastModified: Date;
}

export interface PresignedUpload {
  /** URL the browser POSTs a multipart form to. */
  url: string;
  /** Form fields to send before the file field (policy, signature, key…). */
  fields: Record<string, string>;
  expiresAt: Date;
}

export interface PresignOptions {
  contentType: string;
  /** Inclusive bounds enforced by the upload policy. */
  minBytes: number;
  maxBytes: number;
  expiresInSeconds: number;
}

/** An object that already exists where `ifNoneMatch` was asked for. */
export class BlobExistsError extends Error {
  override readonly name = "BlobExistsError";
}

export interface BlobStore {
  readonly kind: "s3" | "filesystem";
  put(key: string, body: Uint8Array, options?: PutOptions): Promise<void>;
  /** The object's bytes, or undefined when it does not exist. */
  get(key: string): Promise<Uint8Array | undefined>;
  head(key: string): Promise<BlobHead | undefined>;
  /** Deletes one object; deleting a missing object is not an error. */
  delete(key: string): Promise<void>;
  /** Deletes every object under the prefix; returns how many were deleted. */
  deletePrefix(prefix: string): Promise<number>;
  /** Keys under the prefix, sorted. */
  list(prefix: string): Promise<string[]>;
  /** A browser upload straight to the store, pinned to `key`, size range and content type. */
  presignUpload(key: string, options: PresignOptions): Promise<PresignedUpload>;
}
