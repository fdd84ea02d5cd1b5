import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { createSqsServer } from "local-aws-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSqsDeadLetterQueue, createSqsQueue } from "#shared/queue/sqs.ts";

// A real SQS protocol server (local-aws-sqs, JSON protocol) on loopback, started by this file.
let server: Server;
let client: SQSClient;
let counter = 0;

beforeAll(async () => {
  server = await createSqsServer({ port: 0, hostname: "127.0.0.1", emulateQueueCreationLifecycle: false });
  const { port } = server.address() as AddressInfo;
  client = new SQSClient({
    region: "us-east-1",
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
});

afterAll(async () => {
  client.destroy();
  await new Promise((resolve) => server.close(resolve));
});

/** A fresh source queue whose redrive policy sends a message to its DLQ after one receive. */
async function createQueuePair(): Promise<{ queueUrl: string; dlqUrl: string }> {
  counter += 1;
  const dlq = await client.send(new CreateQueueCommand({ QueueName: `ingest-dlq-${counter}` }));
  const dlqUrl = dlq.QueueUrl ?? "";
  const attributes = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn"] }),
  );
  const source = await client.send(
    new CreateQueueCommand({
      QueueName: `ingest-${counter}`,
      Attributes: {
        // Long enough that nothing reappears by itself while a test runs.
        VisibilityTimeout: "300",
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: attributes.Attributes?.QueueArn, maxReceiveCount: 1 }),
      },
    }),
  );
  return { queueUrl: source.QueueUrl ?? "", dlqUrl };
}

async function receiveBodies(queueUrl: string): Promise<string[]> {
  const out = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: 300,
      WaitTimeSeconds: 0,
    }),
  );
  return (out.Messages ?? []).map((message) => message.Body ?? "").sort();
}

describe("SQS queue (local-aws-sqs)", () => {
  it("sends the body as JSON and returns the SQS message id", async () => {
    // Prepare
    const { queueUrl } = await createQueuePair();
    const queue = createSqsQueue({ queueUrl, client });

    // Act
    const id = await queue.send({ sourceId: "s1", userId: "u1" });
    const out = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 300 }));

    // Assess
    expect(queue.kind).toBe("sqs");
    expect(out.Messages?.[0]?.MessageId).toBe(id);
    expect(JSON.parse(out.Messages?.[0]?.Body ?? "")).toEqual({ sourceId: "s1", userId: "u1" });
  });

  it("refuses a body that is not JSON-serialisable", async () => {
    // Prepare
    const { queueUrl } = await createQueuePair();
    const queue = createSqsQueue({ queueUrl, client });

    // Act
    const sending = queue.send(undefined);

    // Assess
    await expect(sending).rejects.toThrow(/JSON/);
  });

  it("lists dead letters oldest first without consuming them", async () => {
    // Prepare
    const { queueUrl, dlqUrl } = await createQueuePair();
    const queue = createSqsQueue({ queueUrl, client });
    const dlq = createSqsDeadLetterQueue({ dlqUrl, queueUrl, client, listWaitSeconds: 0 });
    const exhaustedId = await queue.send({ n: 0 });
    // The message exhausts its single receive: its next receive moves it to the DLQ.
    await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 0 }));
    await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 0 }));
    const olderId = (await client.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: '{"n":1}' }))).MessageId;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const newerId = (await client.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: '{"n":2}' }))).MessageId;

    // Act
    const listed = await dlq.list();
    const listedAgain = await dlq.list();

    // Assess
    const ids = listed.map((m) => m.id);
    expect(ids.sort()).toEqual([exhaustedId, olderId, newerId].sort());
    expect(listed.find((m) => m.id === exhaustedId)?.body).toBe('{"n":0}');
    expect(listedAgain.map((m) => m.id).indexOf(olderId ?? "")).toBeLessThan(
      listedAgain.map((m) => m.id).indexOf(newerId ?? ""),
    );
    expect(listedAgain).toHaveLength(3);
    expect(listed.every((m) => m.lastError === undefined)).toBe(true);
  });

  it("redrives dead letters with StartMessageMoveTask", async () => {
    // Prepare
    const { queueUrl, dlqUrl } = await createQueuePair();
    for (const n of [1, 2, 3])
      await client.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: `{"n":${n}}` }));
    const dlq = createSqsDeadLetterQueue({ dlqUrl, queueUrl, client, listWaitSeconds: 0 });

    // Act
    const moved = await dlq.redrive();

    // Assess
    expect(moved).toBe(3);
    expect(await dlq.list()).toEqual([]);
    expect(await receiveBodies(queueUrl)).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
  });

  it("redrives dead letters by receive, send and delete when asked to copy", async () => {
    // Prepare
    const { queueUrl, dlqUrl } = await createQueuePair();
    for (let n = 0; n < 12; n++) {
      await client.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: JSON.stringify({ n }) }));
    }
    const dlq = createSqsDeadLetterQueue({ dlqUrl, queueUrl, client, redriveMethod: "copy", listWaitSeconds: 0 });

    // Act
    const moved = await dlq.redrive();

    // Assess
    expect(moved).toBe(12);
    expect(await dlq.list()).toEqual([]);
    const first = await receiveBodies(queueUrl);
    const second = await receiveBodies(queueUrl);
    expect([...first, ...second].map((body) => JSON.parse(body).n).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 12 }, (_, n) => n),
    );
  });
});
