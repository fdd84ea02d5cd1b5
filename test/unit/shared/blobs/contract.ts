// The behaviour every BlobStore adapter must share; each adapter's test file runs it.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BlobExistsError, type BlobStore } from "#shared/blobs/blobs.ts";

/** What an adapter's test file hands the contract: a fresh, empty store and how to dispose of it. */
export type OpenBlobStore = () => Promise<{ store: BlobStore; cleanup: () => Promise<void> }>;

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Defines the blob store contract suite for one adapter. */
export function describeBlobStoreContract(name: string, open: OpenBlobStore): void {
  describe(`BlobStore contract: ${name}`, () => {
    let store: BlobStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await open());
    });

    afterEach(async () => {
      await cleanup();
    });

    it("round-trips every byte value and reports the size", async () => {
      // Prepare
      const body = new Uint8Array(512).map((_, i) => (i * 7) % 256);

      // Act
      await store.put("users/u1/sources/s1/original.bin", body, { contentType: "application/octet-stream" });
      const read = await store.get("users/u1/sources/s1/original.bin");
      const head = await store.head("users/u1/sources/s1/original.bin");

      // Assess
      expect(read).toEqual(body);
      expect(head?.key).toBe("users/u1/sources/s1/original.bin");
      expect(head?.size).toBe(512);
      expect(head?.lastModified).toBeInstanceOf(Date);
    });

    it("round-trips an empty object", async () => {
      // Act
      await store.put("users/u1/empty.txt", new Uint8Array());

      // Assess
      expect(await store.get("users/u1/empty.txt")).toEqual(new Uint8Array());
      expect((await store.head("users/u1/empty.txt"))?.size).toBe(0);
    });

    it("answers undefined for a missing object", async () => {
      // Act
      const read = await store.get("users/u1/nothing-here");
      const head = await store.head("users/u1/nothing-here");

      // Assess
      expect(read).toBeUndefined();
      expect(head).toBeUndefined();
    });

    it("replaces an object on a plain put", async () => {
      // Prepare
      await store.put("users/u1/notes.md", encode("first"));

      // Act
      await store.put("users/u1/notes.md", encode("second version"));

      // Assess
      expect(new TextDecoder().decode(await store.get("users/u1/notes.md"))).toBe("second version");
    });

    it("deletes one object and treats a missing one as already deleted", async () => {
      // Prepare
      await store.put("users/u1/a.txt", encode("a"));
      await store.put("users/u1/b.txt", encode("b"));

      // Act
      await store.delete("users/u1/a.txt");
      await store.delete("users/u1/never-existed.txt");

      // Assess
      expect(await store.get("users/u1/a.txt")).toBeUndefined();
      expect(await store.list("users/u1/")).toEqual(["users/u1/b.txt"]);
    });

    it("lists only keys under the prefix, sorted", async () => {
      // Prepare
      for (const key of ["users/u1/z.txt", "users/u1/a/2.txt", "users/u1/a/1.txt", "users/u10/x.txt", "other.txt"]) {
        await store.put(key, encode(key));
      }

      // Act
      const underDir = await store.list("users/u1/");
      const underPartialName = await store.list("users/u1");

      // Assess
      expect(underDir).toEqual(["users/u1/a/1.txt", "users/u1/a/2.txt", "users/u1/z.txt"]);
      expect(underPartialName).toEqual(["users/u1/a/1.txt", "users/u1/a/2.txt", "users/u1/z.txt", "users/u10/x.txt"]);
      expect(await store.list("users/nobody/")).toEqual([]);
    });

    it("lists and deletes a prefix spanning several pages", async () => {
      // Prepare
      const keys = Array.from({ length: 30 }, (_, i) => `users/u2/shards/${String(i).padStart(2, "0")}.faiss`);
      for (const key of keys) await store.put(key, encode(key));
      await store.put("users/u2/keep.json", encode("{}"));
      await store.put("users/u3/shards/00.faiss", encode("other user"));

      // Act
      const listed = await store.list("users/u2/shards/");
      const deleted = await store.deletePrefix("users/u2/shards/");

      // Assess
      expect(listed).toEqual(keys);
      expect(deleted).toBe(30);
      expect(await store.list("users/u2/")).toEqual(["users/u2/keep.json"]);
      expect(await store.list("users/u3/")).toEqual(["users/u3/shards/00.faiss"]);
    });

    it("deletes nothing for an empty prefix match", async () => {
      // Act
      const deleted = await store.deletePrefix("users/ghost/");

      // Assess
      expect(deleted).toBe(0);
    });

    it("refuses an ifNoneMatch put over an existing object and keeps the original", async () => {
      // Prepare
      await store.put("users/u1/index/v1.faiss", encode("version one"), { ifNoneMatch: true });

      // Act
      const second = store.put("users/u1/index/v1.faiss", encode("intruder"), { ifNoneMatch: true });

      // Assess
      await expect(second).rejects.toBeInstanceOf(BlobExistsError);
      expect(new TextDecoder().decode(await store.get("users/u1/index/v1.faiss"))).toBe("version one");
    });

    it("presigns an upload pinned to the key, with a future expiry", async () => {
      // Prepare
      const before = Date.now();

      // Act
      const upload = await store.presignUpload("users/u1/uploads/s9/file.pdf", {
        contentType: "application/pdf",
        minBytes: 1,
        maxBytes: 10_000_000,
        expiresInSeconds: 300,
      });

      // Assess
      expect(upload.url).toMatch(/^https?:\/\//);
      expect(upload.fields.key).toBe("users/u1/uploads/s9/file.pdf");
      expect(upload.fields["Content-Type"]).toBe("application/pdf");
      expect(upload.expiresAt.getTime()).toBeGreaterThanOrEqual(before + 299_000);
    });
  });
}
