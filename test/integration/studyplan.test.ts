// POST /ai/generate-study-plan through the local runtime: offline (rule-based) and with a stub model.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientFor, startTestEngine, type TestEngine } from "#test/support/engine.ts";
import { type StubLlm, startStubLlm } from "#test/support/stub-llm.ts";

interface PlanBody {
  title: string;
  tasks: Array<{ topic: string; scheduledDate: string; duration: number; order: number; title: string }>;
  totalTasks: number;
  estimatedCompletionDays: number;
  warnings: string[];
  recommendations: string[];
  generatedBy: string;
  offline: boolean;
  user_id: string;
}

const request = {
  subject: "Chemistry",
  topics: ["Atomic structure", "Chemical bonding", "Stoichiometry"],
  startDate: "2030-03-02",
  endDate: "2030-03-15",
  dailyStudyHours: 1.5,
  examDate: "2030-03-13",
  preferredTimeSlots: ["morning"],
  difficulty: "intermediate",
  planType: "exam",
  goals: "pass the midterm, understand moles",
  user_id: "mallory",
};

function rulesHold(plan: PlanBody): void {
  const perDay = new Map<string, number>();
  for (const task of plan.tasks) {
    const day = task.scheduledDate.slice(0, 10);
    expect(day >= "2030-03-02" && day < "2030-03-13", `${task.title} on ${day}`).toBe(true);
    perDay.set(day, (perDay.get(day) ?? 0) + task.duration);
  }
  for (const minutes of perDay.values()) expect(minutes).toBeLessThanOrEqual(90);
  for (const topic of request.topics) expect(plan.tasks.some((task) => task.topic === topic)).toBe(true);
}

describe("study plan offline", () => {
  let engine: TestEngine;
  let http: ReturnType<typeof clientFor>;

  beforeAll(async () => {
    engine = await startTestEngine();
    http = clientFor(engine.url, await engine.token("alice"));
  });

  afterAll(async () => {
    await engine.cleanup();
  });

  it("answers a rule-based plan that keeps the date rules, for the token's user", async () => {
    // Act
    const started = Date.now();
    const response = await http.send("POST", "/ai/generate-study-plan", request);
    const elapsed = Date.now() - started;
    const plan = (await response.json()) as PlanBody;

    // Assess
    expect(response.status).toBe(200);
    expect(plan).toMatchObject({
      generatedBy: "rules",
      offline: true,
      user_id: "alice",
      totalTasks: plan.tasks.length,
    });
    rulesHold(plan);
    expect(plan.recommendations.some((line) => line.includes("pass the midterm"))).toBe(true);
    expect(elapsed).toBeLessThan(1_000);
  });

  it("answers the same plan twice", async () => {
    // Act
    const first = (await (await http.send("POST", "/ai/generate-study-plan", request)).json()) as PlanBody;
    const second = (await (await http.send("POST", "/ai/generate-study-plan", request)).json()) as PlanBody;

    // Assess
    expect(second.tasks).toEqual(first.tasks);
  });

  it("refuses an end date not after the start date with 400 and a detail", async () => {
    // Act
    const response = await http.send("POST", "/ai/generate-study-plan", { ...request, endDate: request.startDate });

    // Assess
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ detail: "endDate must be after startDate." });
  });

  it("refuses malformed input with 422, never 500", async () => {
    // Act
    const hours = await http.send("POST", "/ai/generate-study-plan", { ...request, dailyStudyHours: 20 });
    const date = await http.send("POST", "/ai/generate-study-plan", { ...request, startDate: "next monday" });
    const topics = await http.send("POST", "/ai/generate-study-plan", { ...request, topics: [] });

    // Assess
    expect([hours.status, date.status, topics.status]).toEqual([422, 422, 422]);
  });

  it("requires a token", async () => {
    // Act
    const response = await clientFor(engine.url).send("POST", "/ai/generate-study-plan", request);

    // Assess
    expect(response.status).toBe(401);
  });
});

describe("study plan with a model", () => {
  let engine: TestEngine;
  let stub: StubLlm;
  let http: ReturnType<typeof clientFor>;

  beforeAll(async () => {
    stub = await startStubLlm();
    engine = await startTestEngine({ LLM_BASE_URL: stub.baseUrl, LLM_MODEL: "stub-model", LLM_MAX_RETRIES: "0" });
    http = clientFor(engine.url, await engine.token("bob"));
  });

  afterAll(async () => {
    await engine.cleanup();
    await stub.close();
  });

  it("answers the model's plan when it keeps the rules", async () => {
    // Prepare
    const tasks = request.topics.map((topic, i) => ({
      title: `Work on ${topic}`,
      description: "Notes and exercises.",
      topic,
      scheduledDate: `2030-03-0${i + 3}`,
      duration: 60,
      priority: "high",
      difficulty: "medium",
      resources: ["Textbook"],
    }));
    stub.setBehaviour({ tokens: [JSON.stringify({ title: "Chemistry midterm plan", description: "d", tasks })] });

    // Act
    const response = await http.send("POST", "/ai/generate-study-plan", request);
    const plan = (await response.json()) as PlanBody;

    // Assess
    expect(response.status).toBe(200);
    expect(plan).toMatchObject({
      title: "Chemistry midterm plan",
      generatedBy: "model",
      offline: false,
      totalTasks: 3,
    });
    rulesHold(plan);
  });

  it("falls back to the rule-based plan with a warning when the model schedules after the exam", async () => {
    // Prepare
    const tasks = request.topics.map((topic) => ({
      title: `Cram ${topic}`,
      description: "",
      topic,
      scheduledDate: "2030-03-14",
      duration: 30,
      priority: "high",
      difficulty: "hard",
      resources: [],
    }));
    stub.setBehaviour({ tokens: [JSON.stringify({ title: "Late plan", description: "", tasks })] });

    // Act
    const response = await http.send("POST", "/ai/generate-study-plan", request);
    const plan = (await response.json()) as PlanBody;

    // Assess
    expect(response.status).toBe(200);
    expect(plan.generatedBy).toBe("rules");
    expect(plan.warnings.some((warning) => warning.startsWith("The language model's plan was unusable"))).toBe(true);
    rulesHold(plan);
  });
});
