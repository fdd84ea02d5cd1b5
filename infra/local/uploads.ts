// The local stand-in for S3's browser POST endpoint: presigned uploads from `POST /ai/documents`
// land here when blobs live on the filesystem. It enforces the same policy S3 would (key, type,
// size range, expiry, signature) and then does what S3's event notification does: enqueue ingestion.

import { verifyLocalUploadPolicy } from "#shared/blobs/filesystem.ts";
import { parseUploadKey } from "#shared/documents/service.ts";
import type { Engine } from "#shared/engine.ts";
import type { App } from "#shared/http/app.ts";
import { AppError, BadRequestError } from "#shared/http/errors.ts";

export const LOCAL_UPLOAD_PATH = "/local-uploads";

/** Mounts the local upload endpoint (filesystem blobs only). */
export function mountLocalUploads(app: App, engine: Engine): void {
  const secret = engine.localUploadSecret;
  if (!secret) return;
  app.post(LOCAL_UPLOAD_PATH, async (c) => {
    const form = await c.req.parseBody();
    const fields: Record<string, string> = {};
    for (const [name, value] of Object.entries(form)) if (typeof value === "string") fields[name] = value;
    const policy = verifyLocalUploadPolicy(fields, secret);
    const file = form.file;
    if (!(file instanceof File)) throw new BadRequestError('The form has no "file" field.');
    if (file.size < policy.minBytes || file.size > policy.maxBytes) {
      throw new AppError(400, `The file must be between ${policy.minBytes} and ${policy.maxBytes} bytes.`);
    }
    const target = parseUploadKey(policy.key);
    if (!target) throw new BadRequestError("The upload key is not an upload location.");
    const record = await engine.records.find(target.userId, target.documentId);
    if (record?.status !== "pending") throw new AppError(409, "This upload was already used or cancelled.");
    await engine.blobs.put(policy.key, new Uint8Array(await file.arrayBuffer()), { contentType: policy.contentType });
    await engine.documents.enqueue(record);
    return c.body(null, 204);
  });
}
