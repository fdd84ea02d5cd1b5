// Study plans: a deterministic rule-based scheduler (the offline engine and the fallback) and a
// model path whose output is checked against the same date rules before anyone sees it.
import { BadRequestError } from "../http/errors.ts";
import type { ChatModel } from "../llm/chat-model.ts";
import { generateStructured, StructuredOutputError } from "../llm/structured.ts";
import { z } from "../validation/zod.ts";

export type TaskDifficulty = "easy" | "medium" | "hard";
export type TaskPriority = "high" | "medium" | "low";

export interface StudyPlanRequest {
  subject: string;
  topics: string[];
  /** Calendar dates (YYYY-MM-DD, or ISO date-times whose UTC date is used). */
  startDate: string;
  endDate: string;
  dailyStudyHours: number;
  preferredTimeSlots?: string[];
  difficulty?: string;
  planType?: string;
  examDate?: string;
  currentKnowledge?: string;
  goals?: string[];
}

export interface StudyTask {
  title: string;
  description: string;
  topic: string;
  /** Noon UTC of the task's day, so that every time zone from UTC-11 to UTC+11 shows the same date. */
  scheduledDate: string;
  /** Minutes. */
  duration: number;
  priority: TaskPriority;
  difficulty: TaskDifficulty;
  order: number;
  resources: string[];
  timeSlot: string;
}

export interface StudyPlan {
  title: string;
  description: string;
  tasks: StudyTask[];
  estimatedCompletionDays: number;
  totalTasks: number;
  recommendations: string[];
  warnings: string[];
  /** "model" when the language model's plan passed the date rules, else "rules". */
  generatedBy: "model" | "rules";
}

export interface StudyPlanDeps {
  model: ChatModel;
  /** Today's date, for the "start date in the past" warning (injected so tests are deterministic). */
  today?: () => Date;
}

const DAY_MS = 86_400_000;
/** Plans longer than a year are refused: the scheduler is meant for a course or an exam, not a degree. */
export const MAX_PLAN_DAYS = 366;
const MIN_TASK_MINUTES = 5;
const SUSTAINABLE_DAILY_HOURS = 8;

type Phase = "learn" | "practice" | "review" | "final";

interface Draft {
  topic: string;
  phase: Phase;
  day: number;
  minutes: number;
  difficulty: TaskDifficulty;
  rank: number;
}

/** Day number (days since the epoch, UTC) of a YYYY-MM-DD or ISO date-time; undefined when unparseable. */
export function dayNumber(value: string): number | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:$|T)/.exec(value.trim());
  if (!match) return undefined;
  const time =
    value.trim().length === 10 ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : Date.parse(value);
  if (Number.isNaN(time)) return undefined;
  const day = Math.floor(time / DAY_MS);
  // Date.UTC rolls 2026-02-31 over to March; a date that does not round-trip is invalid.
  if (value.trim().length === 10 && isoDate(day) !== value.trim()) return undefined;
  return day;
}

function isoDate(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

function scheduledAt(day: number): string {
  return `${isoDate(day)}T12:00:00.000Z`;
}

function requireDay(value: string, field: string): number {
  const day = dayNumber(value);
  if (day === undefined) throw new BadRequestError(`${field} must be a date (YYYY-MM-DD), got "${value}".`);
  return day;
}

/** The validated calendar of a request; throws BadRequestError on impossible ranges. */
export function planCalendar(request: StudyPlanRequest) {
  const start = requireDay(request.startDate, "startDate");
  const end = requireDay(request.endDate, "endDate");
  if (end <= start) throw new BadRequestError("endDate must be after startDate.");
  if (end - start + 1 > MAX_PLAN_DAYS) {
    throw new BadRequestError(`A study plan may span at most ${MAX_PLAN_DAYS} days; split longer courses.`);
  }
  const exam = request.examDate ? requireDay(request.examDate, "examDate") : undefined;
  // Tasks stop the day before an exam inside the range; an exam outside it does not move the range.
  const examInRange = exam !== undefined && exam > start && exam <= end;
  const last = examInRange ? exam - 1 : end;
  return { start, end, exam, examInRange, last, dailyMinutes: Math.round(request.dailyStudyHours * 60) };
}

function baseDifficulty(level: string | undefined): TaskDifficulty {
  const value = (level ?? "").toLowerCase();
  if (/advanced|hard|expert/.test(value)) return "hard";
  if (/beginner|easy|basic|intro/.test(value)) return "easy";
  return "medium";
}

function topicDifficulty(request: StudyPlanRequest, topic: string): TaskDifficulty {
  const base = baseDifficulty(request.difficulty);
  // A topic the student says they already know is one step easier.
  const known = (request.currentKnowledge ?? "").toLowerCase().includes(topic.toLowerCase());
  if (!known) return base;
  return base === "hard" ? "medium" : "easy";
}

const DIFFICULTY_FACTOR: Record<TaskDifficulty, number> = { hard: 1.25, medium: 1, easy: 0.75 };
const PHASE_MINUTES: Record<Phase, number> = { learn: 60, practice: 45, review: 30, final: 30 };
const DIFFICULTY_RANK: Record<TaskDifficulty, number> = { hard: 0, medium: 1, easy: 2 };

function roundMinutes(minutes: number): number {
  return Math.max(MIN_TASK_MINUTES, Math.round(minutes / 5) * 5);
}

function uniqueTopics(topics: string[]): string[] {
  const seen = new Set<string>();
  const unique: string[] = [];
  for (const topic of topics.map((t) => t.trim()).filter((t) => t !== "")) {
    if (seen.has(topic.toLowerCase())) continue;
    seen.add(topic.toLowerCase());
    unique.push(topic);
  }
  return unique;
}

/** Warnings that depend only on the request (the same whichever engine builds the plan). */
function requestWarnings(request: StudyPlanRequest, calendar: ReturnType<typeof planCalendar>, today: number) {
  const warnings: string[] = [];
  const topics = uniqueTopics(request.topics);
  const days = calendar.last - calendar.start + 1;
  if (calendar.start < today) {
    warnings.push(`The start date ${isoDate(calendar.start)} is in the past; tasks before today are already overdue.`);
  }
  if (calendar.exam !== undefined) {
    if (calendar.exam <= calendar.start) {
      warnings.push(`The exam date ${isoDate(calendar.exam)} is not after the start date; the plan ignores it.`);
    } else if (calendar.exam > calendar.end) {
      warnings.push(
        `The exam date ${isoDate(calendar.exam)} is after the end date ${isoDate(calendar.end)}; plan time for review between them.`,
      );
    }
  }
  const needed = topics.reduce(
    (sum, topic) =>
      sum +
      (PHASE_MINUTES.learn + PHASE_MINUTES.practice + PHASE_MINUTES.review) *
        DIFFICULTY_FACTOR[topicDifficulty(request, topic)],
    0,
  );
  const available = days * calendar.dailyMinutes;
  if (topics.length > days) {
    warnings.push(
      `${topics.length} topics in ${days} study day(s): several topics share a day and get less time each.`,
    );
  }
  if (needed > available) {
    warnings.push(
      `Tight schedule: these topics need about ${Math.ceil(needed / 60)} hours but only ${Math.floor(available / 60)} are available; sessions are shortened and some practice or review is dropped.`,
    );
  }
  if (request.dailyStudyHours > SUSTAINABLE_DAILY_HOURS) {
    warnings.push(`More than ${SUSTAINABLE_DAILY_HOURS} hours of study a day is hard to sustain; plan breaks.`);
  }
  return warnings;
}

function spread(count: number, slots: number): number[] {
  // Evenly spaced positions 0..slots-1 for `count` items, first at 0.
  if (count <= 0) return [];
  return Array.from({ length: count }, (_, k) => Math.min(slots - 1, Math.floor((k * slots) / count)));
}

function draftTasks(
  request: StudyPlanRequest,
  calendar: ReturnType<typeof planCalendar>,
): { drafts: Draft[]; dropped: number; squeezed: boolean } {
  const topics = uniqueTopics(request.topics)
    .map((topic, index) => ({ topic, index, difficulty: topicDifficulty(request, topic) }))
    // Harder topics first, while the student is fresh and there is time left to revisit them.
    .sort((a, b) => DIFFICULTY_RANK[a.difficulty] - DIFFICULTY_RANK[b.difficulty] || a.index - b.index);
  const days = calendar.last - calendar.start + 1;
  // Review window before an exam: the last day (or two for plans of ten days and more).
  const reviewDays = calendar.examInRange && days >= 4 ? (days >= 10 ? 2 : 1) : 0;
  const learningDays = days - reviewDays;
  // Learning fills the first 70 % of the learning days, leaving room for practice and review after it.
  const learnWindow = learningDays <= 2 ? learningDays : Math.max(1, Math.ceil(learningDays * 0.7));
  const learnDays = spread(topics.length, learnWindow);
  const drafts: Draft[] = [];
  topics.forEach(({ topic, difficulty }, k) => {
    const learnOffset = learnDays[k] ?? 0;
    const factor = DIFFICULTY_FACTOR[difficulty];
    const minutes = (phase: Phase) => roundMinutes(PHASE_MINUTES[phase] * factor);
    drafts.push({
      topic,
      phase: "learn",
      day: calendar.start + learnOffset,
      minutes: minutes("learn"),
      difficulty,
      rank: k,
    });
    const practice = Math.min(learnOffset + 1, learningDays - 1);
    drafts.push({
      topic,
      phase: "practice",
      day: calendar.start + practice,
      minutes: minutes("practice"),
      difficulty,
      rank: k,
    });
    // Spaced repetition: review three days after learning, when that day is still before the review window.
    const review = learnOffset + 3;
    if (review < learningDays || (reviewDays === 0 && learnOffset + 1 < days)) {
      const day = calendar.start + Math.min(review, days - 1);
      drafts.push({ topic, phase: "review", day, minutes: minutes("review"), difficulty, rank: k });
    }
    if (reviewDays > 0) {
      const reviewOffset = learningDays + (k % reviewDays);
      drafts.push({
        topic,
        phase: "final",
        day: calendar.start + reviewOffset,
        minutes: minutes("final"),
        difficulty,
        rank: k,
      });
    }
  });
  return fitToCapacity(drafts, calendar.dailyMinutes);
}

const PHASE_ORDER: Record<Phase, number> = { learn: 0, practice: 1, review: 2, final: 3 };
const DROP_ORDER: Phase[] = ["review", "practice", "final"];

/** Makes every day fit the daily budget: shorten first, then drop optional sessions, never a topic's only session. */
function fitToCapacity(drafts: Draft[], dailyMinutes: number): { drafts: Draft[]; dropped: number; squeezed: boolean } {
  const byDay = new Map<number, Draft[]>();
  for (const draft of drafts) byDay.set(draft.day, [...(byDay.get(draft.day) ?? []), draft]);
  const kept: Draft[] = [];
  let dropped = 0;
  let squeezed = false;
  for (const [, tasks] of [...byDay].sort((a, b) => a[0] - b[0])) {
    let day = [...tasks];
    const total = () => day.reduce((sum, task) => sum + task.minutes, 0);
    if (total() > dailyMinutes) {
      squeezed = true;
      const scale = dailyMinutes / total();
      day = day.map((task) => ({
        ...task,
        minutes: Math.max(MIN_TASK_MINUTES, Math.floor((task.minutes * scale) / 5) * 5),
      }));
    }
    for (const phase of DROP_ORDER) {
      while (total() > dailyMinutes) {
        const index = day.findLastIndex((task) => task.phase === phase);
        if (index < 0) break;
        day.splice(index, 1);
        dropped++;
      }
    }
    if (total() > dailyMinutes) {
      // Only first sessions are left and even 5 minutes each do not fit: share the day equally.
      const share = Math.max(1, Math.floor(dailyMinutes / day.length));
      day = day.map((task) => ({ ...task, minutes: share }));
    }
    kept.push(...day);
  }
  // A topic whose practice and review were dropped still has its learning session.
  return { drafts: kept, dropped, squeezed };
}

const SLOT_NAMES = ["morning", "afternoon", "evening", "night"];

function slotFor(request: StudyPlanRequest, index: number): string {
  const slots = (request.preferredTimeSlots ?? [])
    .map((slot) => slot.trim().toLowerCase())
    .filter((slot) => slot !== "");
  if (slots.length === 0) return "flexible";
  const slot = slots[index % slots.length] ?? "flexible";
  return SLOT_NAMES.includes(slot) ? slot : slot.slice(0, 40);
}

function describe(draft: Draft, subject: string): { title: string; description: string; resources: string[] } {
  switch (draft.phase) {
    case "learn":
      return {
        title: `Learn: ${draft.topic}`,
        description: `Study the core ideas of ${draft.topic} in ${subject}: read your notes, write down key terms and one worked example.`,
        resources: [`Your notes and uploaded sources on ${draft.topic}`, `Summary of ${draft.topic}`],
      };
    case "practice":
      return {
        title: `Practice: ${draft.topic}`,
        description: `Apply ${draft.topic}: answer practice questions without notes, then check what you missed.`,
        resources: [`Practice quiz on ${draft.topic}`, `Flashcards for ${draft.topic}`],
      };
    case "review":
      return {
        title: `Review: ${draft.topic}`,
        description: `Recall ${draft.topic} from memory (spaced repetition), then fill the gaps from your notes.`,
        resources: [`Flashcards for ${draft.topic}`, `Mind map of ${draft.topic}`],
      };
    case "final":
      return {
        title: `Exam review: ${draft.topic}`,
        description: `Final review of ${draft.topic} before the exam: self-test, then revisit your weakest points.`,
        resources: [`Practice quiz on ${draft.topic}`, `Summary of ${draft.topic}`],
      };
  }
}

function priorityOf(draft: Draft): TaskPriority {
  if (draft.phase === "final") return "high";
  if (draft.phase === "learn") return draft.difficulty === "easy" ? "medium" : "high";
  if (draft.phase === "practice") return "medium";
  return "low";
}

function recommendationsFor(request: StudyPlanRequest, calendar: ReturnType<typeof planCalendar>): string[] {
  const recommendations = [
    "Test yourself before re-reading: retrieval practice sticks better than highlighting.",
    `Keep to about ${request.dailyStudyHours} hour(s) a day and take a 5-minute break every 25–50 minutes.`,
    "Turn each topic into flashcards after its learning session and review them on the scheduled days.",
  ];
  if (calendar.examInRange) recommendations.push("Do one timed practice exam in the review days before the exam.");
  if (request.goals?.length)
    recommendations.push(`Check your progress against your goals: ${request.goals.join("; ")}.`);
  return recommendations;
}

/** The deterministic rule-based plan (learn → practice → review, harder topics first, review before an exam). */
export function buildRuleBasedPlan(request: StudyPlanRequest, today: Date = new Date()): StudyPlan {
  const calendar = planCalendar(request);
  const warnings = requestWarnings(request, calendar, Math.floor(today.getTime() / DAY_MS));
  const { drafts, dropped, squeezed } = draftTasks(request, calendar);
  if (squeezed && !warnings.some((warning) => warning.startsWith("Tight schedule"))) {
    warnings.push("Some days were over the daily study time, so their sessions were shortened.");
  }
  if (dropped > 0)
    warnings.push(`${dropped} practice or review session(s) did not fit the daily study time and were left out.`);
  const ordered = [...drafts].sort(
    (a, b) => a.day - b.day || PHASE_ORDER[a.phase] - PHASE_ORDER[b.phase] || a.rank - b.rank,
  );
  const tasks = ordered.map((draft, index) => ({
    ...describe(draft, request.subject),
    topic: draft.topic,
    scheduledDate: scheduledAt(draft.day),
    duration: draft.minutes,
    priority: priorityOf(draft),
    difficulty: draft.difficulty,
    order: index + 1,
    timeSlot: slotFor(request, index),
  }));
  const lastDay = ordered.at(-1)?.day ?? calendar.start;
  const topics = uniqueTopics(request.topics);
  return {
    title: `${request.subject} study plan`,
    description: `${topics.length} topic(s) from ${isoDate(calendar.start)} to ${isoDate(calendar.last)}, about ${request.dailyStudyHours} hour(s) a day: learn, practise, then review each topic${calendar.examInRange && calendar.exam !== undefined ? `, with review before the exam on ${isoDate(calendar.exam)}` : ""}.`,
    tasks,
    estimatedCompletionDays: lastDay - calendar.start + 1,
    totalTasks: tasks.length,
    recommendations: recommendationsFor(request, calendar),
    warnings,
    generatedBy: "rules",
  };
}

/** Every way a plan breaks the date rules (empty = usable). */
export function studyPlanProblems(
  plan: { tasks: Array<Pick<StudyTask, "title" | "topic" | "scheduledDate" | "duration">> },
  request: StudyPlanRequest,
): string[] {
  const calendar = planCalendar(request);
  const problems: string[] = [];
  if (plan.tasks.length === 0) return ["the plan has no tasks"];
  const perDay = new Map<number, number>();
  for (const task of plan.tasks) {
    const day = dayNumber(task.scheduledDate);
    if (day === undefined) {
      problems.push(`"${task.title}" has no valid date`);
      continue;
    }
    if (day < calendar.start || day > calendar.last) {
      problems.push(
        `"${task.title}" is on ${isoDate(day)}, outside ${isoDate(calendar.start)}–${isoDate(calendar.last)}`,
      );
    }
    if (!Number.isFinite(task.duration) || task.duration <= 0) problems.push(`"${task.title}" has no duration`);
    perDay.set(day, (perDay.get(day) ?? 0) + task.duration);
  }
  for (const [day, minutes] of perDay) {
    if (minutes > calendar.dailyMinutes) {
      problems.push(`${isoDate(day)} has ${minutes} minutes of tasks (limit ${calendar.dailyMinutes})`);
    }
  }
  const scheduled = new Set(plan.tasks.map((task) => task.topic.trim().toLowerCase()));
  for (const topic of uniqueTopics(request.topics)) {
    if (!scheduled.has(topic.toLowerCase())) problems.push(`topic "${topic}" is never scheduled`);
  }
  return problems;
}

const ModelTask = z.object({
  title: z.string().min(1).max(200),
  description: z.string().max(1000).default(""),
  topic: z.string().min(1).max(200),
  scheduledDate: z.string().min(10).max(40),
  duration: z.coerce
    .number()
    .int()
    .positive()
    .max(24 * 60),
  priority: z.enum(["high", "medium", "low"]).catch("medium"),
  difficulty: z.enum(["easy", "medium", "hard"]).catch("medium"),
  resources: z.array(z.string().max(300)).max(10).catch([]),
});

const ModelPlan = z.object({
  title: z.string().min(1).max(200),
  description: z.string().max(2000).default(""),
  tasks: z.array(ModelTask).min(1).max(400),
  recommendations: z.array(z.string().max(500)).max(20).catch([]),
});

function modelPrompt(request: StudyPlanRequest, calendar: ReturnType<typeof planCalendar>): string {
  return [
    `Subject: ${request.subject}`,
    `Topics (each must appear as the "topic" of at least one task, spelled exactly): ${JSON.stringify(uniqueTopics(request.topics))}`,
    `Schedule tasks only on dates from ${isoDate(calendar.start)} to ${isoDate(calendar.last)} inclusive (YYYY-MM-DD).`,
    `The durations (minutes) of one day's tasks must add up to at most ${calendar.dailyMinutes}.`,
    calendar.examInRange && calendar.exam !== undefined
      ? `The exam is on ${isoDate(calendar.exam)}: use the last day(s) before it for review.`
      : "",
    request.difficulty ? `Level: ${request.difficulty}` : "",
    request.currentKnowledge ? `Current knowledge: ${request.currentKnowledge}` : "",
    request.goals?.length ? `Goals: ${request.goals.join("; ")}` : "",
    request.planType ? `Plan type: ${request.planType}` : "",
    "Order each topic learn → practice → review, harder topics earlier and longer.",
    'Answer with JSON: {"title", "description", "tasks": [{"title", "description", "topic", "scheduledDate", "duration", "priority": "high|medium|low", "difficulty": "easy|medium|hard", "resources": [strings]}], "recommendations": [strings]}',
  ]
    .filter((line) => line !== "")
    .join("\n");
}

/** A study plan: the model's when it keeps the date rules, else (and offline) the rule-based plan with a warning. */
export async function generateStudyPlan(deps: StudyPlanDeps, request: StudyPlanRequest): Promise<StudyPlan> {
  const today = deps.today?.() ?? new Date();
  const rules = buildRuleBasedPlan(request, today);
  if (deps.model.info.kind === "offline") return rules;
  const calendar = planCalendar(request);
  let reason: string;
  try {
    const { value } = await generateStructured({
      model: deps.model,
      schema: ModelPlan,
      name: "study plan",
      temperature: 0.2,
      messages: [
        { role: "system", content: "You are a study planner. You answer with one JSON object and nothing else." },
        { role: "user", content: modelPrompt(request, calendar) },
      ],
    });
    const problems = studyPlanProblems(value, request);
    if (problems.length === 0) {
      const sorted = [...value.tasks].sort(
        (a, b) => (dayNumber(a.scheduledDate) ?? 0) - (dayNumber(b.scheduledDate) ?? 0),
      );
      const tasks = sorted.map((task, index) => {
        const day = dayNumber(task.scheduledDate) ?? calendar.start;
        return { ...task, scheduledDate: scheduledAt(day), order: index + 1, timeSlot: slotFor(request, index) };
      });
      const lastDay = Math.max(...tasks.map((task) => dayNumber(task.scheduledDate) ?? calendar.start));
      // Request-level warnings (past start, tight schedule…) hold whichever engine planned.
      const warnings = rules.warnings.filter((warning) => !/shortened|left out/.test(warning));
      return {
        title: value.title,
        description: value.description,
        tasks,
        estimatedCompletionDays: lastDay - calendar.start + 1,
        totalTasks: tasks.length,
        recommendations: value.recommendations.length > 0 ? value.recommendations : rules.recommendations,
        warnings,
        generatedBy: "model",
      };
    }
    reason = `${problems.length} rule violation(s), e.g. ${problems[0]}`;
  } catch (error) {
    if (error instanceof Error && error.name === "AbortError") throw error;
    reason = error instanceof StructuredOutputError ? "its output was not a valid plan" : "the model did not answer";
  }
  return {
    ...rules,
    warnings: [
      ...rules.warnings,
      `The language model's plan was unusable (${reason}); this is the rule-based plan instead.`,
    ],
  };
}
