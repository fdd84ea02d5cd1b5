// Document records: the listing retrieval makes on every query returns the fields a search reads and
// nothing else, with the same filters, order and user scoping as the full listing.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDocumentRecords, type DocumentRecords, SEARCHABLE_FIELDS } from "#shared/documents/records.ts";
import { openEmbeddedStore } from "#shared/store/embedded.ts";
import type { DocumentStore } from "#shared/store/store.ts";

let dir: string;
let store: DocumentStore;
let records: DocumentRecords;
let tick = 0;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "collabry-records-"));
  store = await openEmbeddedStore({ dir });
  // Distinct creation times, so the newest-first order is decided by them.
  records = createDocumentRecords(store, () => new Date(Date.UTC(2026, 10, 29, 0, 0, tick++)));
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function readyDocument(
  userId: string,
  filename: string,
  extra: { session_id?: string; source_id?: string } = {},
) {
  const created = await records.create(userId, {
    filename,
    origin: "upload",
    size: 10,
    sha256: "0".repeat(64),
    ...extra,
  });
  await records.update(userId, String(created._id), {
    status: "ready",
    pages: 3,
    chunk_count: 7,
    embedding_model: "collabry-local-hash-v1",
    embedding_dims: 384,
    index_key: `indexes/${userId}/${created.source_id}/v1`,
    index_version: 1,
    started_at: new Date(),
    completed_at: new Date(),
  });
  return created;
}

describe("listSearchable", () => {
  it("returns only the fields a search reads, in the full listing's order", async () => {
    // Arrange
    await readyDocument("alice", "a.pdf");
    await readyDocument("alice", "b.pdf");
    await records.create("alice", { filename: "pending.pdf", origin: "upload" });

    // Act
    const searchable = await records.listSearchable("alice", { status: "ready" });
    const full = await records.list("alice", { status: "ready" });

    // Assess
    expect(searchable.map((record) => record.filename)).toEqual(["b.pdf", "a.pdf"]);
    expect(searchable.map((record) => String(record._id))).toEqual(full.map((record) => String(record._id)));
    for (const [index, record] of searchable.entries()) {
      expect(Object.keys(record).sort()).toEqual(["_id", ...SEARCHABLE_FIELDS].sort());
      const whole = full[index] as unknown as Record<string, unknown>;
      for (const field of SEARCHABLE_FIELDS) expect(record[field], field).toEqual(whole[field]);
    }
  });

  it("applies the session, source and status filters and never lists another user's documents", async () => {
    // Arrange
    await readyDocument("alice", "in-session.pdf", { session_id: "s1", source_id: "src-1" });
    await readyDocument("alice", "elsewhere.pdf", { source_id: "src-2" });
    await readyDocument("bob", "bobs.pdf", { session_id: "s1", source_id: "src-1" });

    // Act
    const inSession = await records.listSearchable("alice", { status: "ready", sessionId: "s1" });
    const bySource = await records.listSearchable("alice", { sourceIds: ["src-2", "src-1"] });
    const pending = await records.listSearchable("alice", { status: "pending" });

    // Assess
    expect(inSession.map((record) => record.filename)).toEqual(["in-session.pdf"]);
    expect(bySource.map((record) => record.filename)).toEqual(["elsewhere.pdf", "in-session.pdf"]);
    expect(pending).toEqual([]);
  });
});
