// The study planner's date rules, warnings and determinism, and the model path's fallback.
import { describe, expect, it } from "vitest";
import {
  buildRuleBasedPlan,
  dayNumber,
  generateStudyPlan,
  type StudyPlan,
  type StudyPlanRequest,
  studyPlanProblems,
} from "#shared/generation/studyplan.ts";
import type { ChatModel } from "#shared/llm/chat-model.ts";
import { createOfflineChatModel } from "#shared/llm/offline.ts";

const TODAY = new Date("2026-11-28T10:00:00Z");

const biology: StudyPlanRequest = {
  subject: "Biology",
  topics: ["Cell structure", "Photosynthesis", "Cellular respiration", "Genetics"],
  startDate: "2026-12-01",
  endDate: "2026-12-14",
  dailyStudyHours: 2,
};

function day(task: { scheduledDate: string }): string {
  return task.scheduledDate.slice(0, 10);
}

function minutesPerDay(plan: StudyPlan): Map<string, number> {
  const totals = new Map<string, number>();
  for (const task of plan.tasks) totals.set(day(task), (totals.get(day(task)) ?? 0) + task.duration);
  return totals;
}

/** A chat model that always answers `text` (JSON mode or not). */
function fixedModel(text: string): ChatModel & { calls: number } {
  const model = {
    calls: 0,
    info: { kind: "openai-compatible" as const, model: "fake" },
    async *stream() {
      yield { text };
    },
    async complete() {
      model.calls++;
      return { text };
    },
    async health() {
      return { status: "ok" as const };
    },
  };
  return model;
}

describe("rule-based study plan", () => {
  it("schedules every topic within the range, learn before practice before review, within the daily time", () => {
    // Act
    const plan = buildRuleBasedPlan(biology, TODAY);

    // Assess
    expect(studyPlanProblems(plan, biology)).toEqual([]);
    for (const task of plan.tasks) {
      expect(day(task) >= "2026-12-01" && day(task) <= "2026-12-14").toBe(true);
      expect(task.duration).toBeGreaterThan(0);
    }
    for (const minutes of minutesPerDay(plan).values()) expect(minutes).toBeLessThanOrEqual(120);
    for (const topic of biology.topics) {
      const phases = plan.tasks.filter((task) => task.topic === topic);
      const learn = phases.find((task) => task.title.startsWith("Learn:"));
      const practice = phases.find((task) => task.title.startsWith("Practice:"));
      expect(learn).toBeDefined();
      expect(practice && learn && day(practice) >= day(learn)).toBe(true);
      expect(practice && learn && practice.order > learn.order).toBe(true);
    }
    expect(plan.totalTasks).toBe(plan.tasks.length);
    expect(plan.tasks.map((task) => task.order)).toEqual(plan.tasks.map((_, index) => index + 1));
    expect(plan.warnings).toEqual([]);
    expect(plan.generatedBy).toBe("rules");
  });

  it("keeps every task before an exam inside the range and uses the last days for review", () => {
    // Prepare
    const request = { ...biology, examDate: "2026-12-12" };

    // Act
    const plan = buildRuleBasedPlan(request, TODAY);

    // Assess
    expect(studyPlanProblems(plan, request)).toEqual([]);
    expect(plan.tasks.every((task) => day(task) < "2026-12-12")).toBe(true);
    const lastDay = plan.tasks.filter((task) => day(task) === "2026-12-11");
    expect(lastDay.length).toBeGreaterThan(0);
    expect(lastDay.every((task) => task.title.startsWith("Exam review:") && task.priority === "high")).toBe(true);
    for (const topic of request.topics) {
      expect(plan.tasks.some((task) => task.topic === topic && task.title.startsWith("Exam review:"))).toBe(true);
    }
  });

  it("puts harder topics first and gives them longer sessions", () => {
    // Prepare
    const request = { ...biology, difficulty: "advanced", currentKnowledge: "I already know Cell structure." };

    // Act
    const plan = buildRuleBasedPlan(request, TODAY);

    // Assess
    const learnCell = plan.tasks.find((task) => task.title === "Learn: Cell structure");
    const learnPhoto = plan.tasks.find((task) => task.title === "Learn: Photosynthesis");
    expect(plan.tasks[0]?.topic).not.toBe("Cell structure");
    expect(learnCell?.difficulty).toBe("medium");
    expect(learnPhoto?.difficulty).toBe("hard");
    expect((learnPhoto?.duration ?? 0) > (learnCell?.duration ?? 0)).toBe(true);
    expect(learnCell && learnPhoto && learnPhoto.order < learnCell.order).toBe(true);
  });

  it("warns about a tight schedule and still schedules every topic within the daily limit", () => {
    // Prepare
    const request: StudyPlanRequest = {
      subject: "History",
      topics: Array.from({ length: 12 }, (_, i) => `Period ${i + 1}`),
      startDate: "2026-12-01",
      endDate: "2026-12-04",
      dailyStudyHours: 0.5,
    };

    // Act
    const plan = buildRuleBasedPlan(request, TODAY);

    // Assess
    expect(studyPlanProblems(plan, request)).toEqual([]);
    for (const minutes of minutesPerDay(plan).values()) expect(minutes).toBeLessThanOrEqual(30);
    expect(plan.warnings.some((warning) => warning.startsWith("Tight schedule"))).toBe(true);
    expect(plan.warnings.some((warning) => warning.includes("12 topics in 4 study day(s)"))).toBe(true);
    expect(plan.warnings.some((warning) => warning.includes("left out"))).toBe(true);
  });

  it("warns about a start date in the past and an exam outside the range", () => {
    // Prepare
    const past = { ...biology, startDate: "2026-11-20", examDate: "2026-12-20" };
    const early = { ...biology, examDate: "2026-11-30" };

    // Act
    const pastPlan = buildRuleBasedPlan(past, TODAY);
    const earlyPlan = buildRuleBasedPlan(early, TODAY);

    // Assess
    expect(pastPlan.warnings.some((warning) => warning.includes("2026-11-20 is in the past"))).toBe(true);
    expect(pastPlan.warnings.some((warning) => warning.includes("after the end date"))).toBe(true);
    expect(earlyPlan.warnings.some((warning) => warning.includes("not after the start date"))).toBe(true);
    expect(studyPlanProblems(earlyPlan, early)).toEqual([]);
  });

  it("refuses an end date that is not after the start date, and impossible dates, with 400", () => {
    // Act
    const sameDay = () => buildRuleBasedPlan({ ...biology, endDate: biology.startDate }, TODAY);
    const february = () => buildRuleBasedPlan({ ...biology, endDate: "2027-02-30" }, TODAY);

    // Assess
    expect(sameDay).toThrow(expect.objectContaining({ statusCode: 400, message: "endDate must be after startDate." }));
    expect(february).toThrow(expect.objectContaining({ statusCode: 400 }));
    expect(dayNumber("2026-12-01T23:30:00Z")).toBe(dayNumber("2026-12-01"));
  });

  it("is deterministic", () => {
    // Act
    const first = buildRuleBasedPlan({ ...biology, examDate: "2026-12-12", preferredTimeSlots: ["evening"] }, TODAY);
    const second = buildRuleBasedPlan({ ...biology, examDate: "2026-12-12", preferredTimeSlots: ["evening"] }, TODAY);

    // Assess
    expect(second).toEqual(first);
    expect(first.tasks.every((task) => task.timeSlot === "evening")).toBe(true);
  });
});

describe("study plan with a model", () => {
  const modelTask = (date: string, topic: string, duration = 60) => ({
    title: `Study ${topic}`,
    description: "Read and summarise.",
    topic,
    scheduledDate: date,
    duration,
    priority: "high",
    difficulty: "medium",
    resources: ["Notes"],
  });

  it("uses the model's plan when it keeps the date rules", async () => {
    // Prepare
    const answer = {
      title: "Biology sprint",
      description: "Two weeks of biology.",
      tasks: biology.topics.map((topic, i) => modelTask(`2026-12-0${i + 2}`, topic)),
      recommendations: ["Sleep well."],
    };
    const model = fixedModel(JSON.stringify(answer));

    // Act
    const plan = await generateStudyPlan({ model, today: () => TODAY }, biology);

    // Assess
    expect(plan.generatedBy).toBe("model");
    expect(plan.title).toBe("Biology sprint");
    expect(plan.tasks.map((task) => task.topic)).toEqual(biology.topics);
    expect(plan.tasks[0]?.scheduledDate).toBe("2026-12-02T12:00:00.000Z");
    expect(plan.totalTasks).toBe(4);
    expect(plan.recommendations).toEqual(["Sleep well."]);
  });

  it("falls back to the rule-based plan with a warning when the model breaks the date rules", async () => {
    // Prepare: one task after the end date, one day over the limit, one topic missing.
    const answer = {
      title: "Bad plan",
      description: "",
      tasks: [
        modelTask("2026-12-20", "Cell structure"),
        modelTask("2026-12-02", "Photosynthesis", 200),
        modelTask("2026-12-03", "Genetics"),
      ],
      recommendations: [],
    };
    const model = fixedModel(JSON.stringify(answer));

    // Act
    const plan = await generateStudyPlan({ model, today: () => TODAY }, biology);

    // Assess
    expect(plan.generatedBy).toBe("rules");
    expect(plan).toMatchObject({ ...buildRuleBasedPlan(biology, TODAY), warnings: expect.any(Array) });
    expect(plan.warnings.at(-1)).toMatch(/^The language model's plan was unusable \(3 rule violation\(s\)/);
    expect(studyPlanProblems(plan, biology)).toEqual([]);
  });

  it("falls back with a warning when the model's output is not a plan at all", async () => {
    // Prepare
    const model = fixedModel("Sure! Here is your plan: study hard.");

    // Act
    const plan = await generateStudyPlan({ model, today: () => TODAY }, biology);

    // Assess
    expect(plan.generatedBy).toBe("rules");
    expect(plan.warnings.at(-1)).toContain("its output was not a valid plan");
    expect(model.calls).toBe(2);
  });

  it("never calls a model offline", async () => {
    // Act
    const plan = await generateStudyPlan({ model: createOfflineChatModel(), today: () => TODAY }, biology);

    // Assess
    expect(plan).toEqual(buildRuleBasedPlan(biology, TODAY));
  });
});
