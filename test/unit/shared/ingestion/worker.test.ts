import { describe, expect, it } from "vitest";
import { parseUploadKey } from "#shared/documents/service.ts";
import { jobsFromMessage } from "#shared/ingestion/worker.ts";

describe("ingestion messages", () => {
  it("reads the engine's own ingest jobs", () => {
    // Act
    const jobs = jobsFromMessage(
      JSON.stringify({ type: "ingest", user_id: "u1", document_id: "6b0ad82abb5e92823709cbd6" }),
    );

    // Assess
    expect(jobs).toEqual([{ userId: "u1", documentId: "6b0ad82abb5e92823709cbd6" }]);
  });

  it("reads S3 object-created notifications of presigned uploads, decoding the key", () => {
    // Prepare
    const body = JSON.stringify({
      Records: [
        {
          eventName: "ObjectCreated:Post",
          s3: { object: { key: "uploads/user%40mail.com/6b0ad82abb5e92823709cbd6/original" } },
        },
        { eventName: "ObjectRemoved:Delete", s3: { object: { key: "uploads/u2/6b0ad82abb5e92823709cbd7/original" } } },
        { eventName: "ObjectCreated:Put", s3: { object: { key: "indexes/u1/s1/v1/index.faiss" } } },
      ],
    });

    // Act
    const jobs = jobsFromMessage(body);

    // Assess
    expect(jobs).toEqual([{ userId: "user@mail.com", documentId: "6b0ad82abb5e92823709cbd6" }]);
  });

  it("ignores malformed and foreign messages instead of failing forever", () => {
    // Act / Assess
    expect(jobsFromMessage("not json")).toEqual([]);
    expect(jobsFromMessage(JSON.stringify({ Event: "s3:TestEvent" }))).toEqual([]);
    expect(jobsFromMessage(JSON.stringify({ type: "ingest", user_id: 5 }))).toEqual([]);
  });

  it("only accepts upload keys of the engine's own layout", () => {
    // Act / Assess
    expect(parseUploadKey("uploads/u1/6b0ad82abb5e92823709cbd6/original")).toEqual({
      userId: "u1",
      documentId: "6b0ad82abb5e92823709cbd6",
    });
    expect(parseUploadKey("uploads/u1/../../etc/original")).toBeUndefined();
    expect(parseUploadKey("uploads/u1/6b0ad82abb5e92823709cbd6/other")).toBeUndefined();
  });
});
