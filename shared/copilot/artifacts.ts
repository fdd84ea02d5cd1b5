// Study artifacts asked for in chat. The notebook's Studio buttons send prompts through the
// session stream and parse the reply, so when a message asks for a quiz, mind map, flashcards,
// infographic, course list or report, the reply is produced by the same generators as the
// study-tool routes and starts with the artifact in exactly the format the frontend parses
// (API-CONTRACT.md, "Study artifacts through the session stream").
//
// The generators are imported when an artifact is first asked for, not with this module: the
// chat, sessions and summarize functions reach them only through here, and their cold start (whose
// first request is nearly always a question) then does not evaluate them or build their schemas:
// import of the deployed chat bundle −6.7 ms CPU (paired median of 12 interleaved imports).
import type { Citation } from "../conversations/session-store.ts";
import type { Material, MaterialDeps } from "../generation/material.ts";
import { AppError } from "../http/errors.ts";
import type { ChatModel } from "../llm/chat-model.ts";
import type { WebSearch } from "../web/search.ts";

export type ArtifactKind = "quiz" | "mindmap" | "flashcards" | "infographic" | "courses" | "report";

const MARKERS: Array<[ArtifactKind, RegExp]> = [
  ["quiz", /###QUIZ_GENERATOR###/],
  ["courses", /###COURSE_FINDER###/],
  ["mindmap", /\bmind[\s-]?maps?\b/i],
  ["flashcards", /\bflash[\s-]?cards?\b/i],
  ["infographic", /\binfographics?\b/i],
  ["quiz", /\b(quiz|quizzes)\b/i],
  ["courses", /\b(find|recommend|suggest|search)\b[^.?!]{0,40}\b(courses?|tutorials?|classes)\b/i],
  ["report", /\b(write|generate|create|make|prepare|draft)\b[^.?!]{0,40}\breport\b/i],
];

/** Which artifact a chat message asks for, if any. */
export function detectArtifact(message: string): ArtifactKind | undefined {
  return MARKERS.find(([, pattern]) => pattern.test(message))?.[0];
}

const REQUEST_WORDS =
  /^(please\s+)?(can you\s+|could you\s+)?(create|make|generate|give me|build|draw|show me|prepare|write|find|recommend|suggest|search for)?\s*(me\s+)?(a|an|some|the)?\s*(\d+\s+)?(quiz(zes)?|mind[\s-]?maps?|flash[\s-]?cards?|infographics?|report|courses?|tutorials?)?\s*(questions\s+)?(on|about|for|of|covering)?\s*/i;

/** The subject of an artifact request: markers and request wording removed. */
export function artifactTopic(message: string): string {
  const cleaned = message
    .replace(/###[A-Z_]+###/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  const topic = cleaned
    .replace(REQUEST_WORDS, "")
    .replace(/[.?!]+$/, "")
    .trim();
  return topic.length >= 3 ? topic.slice(0, 200) : cleaned.slice(0, 200);
}

export interface ArtifactDeps extends MaterialDeps {
  model: ChatModel;
  webSearch: WebSearch;
}

export interface ArtifactReply {
  text: string;
  citations: Citation[];
  offline: boolean;
}

const NEEDS_MATERIAL =
  "I need course material to build this without a language model. Upload your notes to this notebook (or ask whoever runs the engine to configure a model), then ask again.";

async function materialFor(
  deps: ArtifactDeps,
  userId: string,
  sessionId: string,
  topic: string,
): Promise<Material | undefined> {
  const { loadMaterial, materialFromText } = await import("../generation/material.ts");
  try {
    return await loadMaterial(deps, { userId, sessionId });
  } catch (error) {
    // No documents in this session: a model can still work from the topic; the offline engine cannot.
    if (error instanceof AppError && (error.statusCode === 404 || error.statusCode === 409)) {
      return deps.model.info.kind === "offline" ? undefined : materialFromText(topic);
    }
    throw error;
  }
}

function citationsOf(items: Array<{ citations?: Citation[] }>): Citation[] {
  const seen = new Set<string>();
  const all: Citation[] = [];
  for (const item of items) {
    for (const citation of item.citations ?? []) {
      if (seen.has(citation.chunk_id)) continue;
      seen.add(citation.chunk_id);
      all.push(citation);
    }
  }
  return all;
}

/** Produces the reply for an artifact request (the artifact first, a short note after it). */
export async function produceArtifact(
  deps: ArtifactDeps,
  kind: ArtifactKind,
  request: { userId: string; sessionId: string; message: string },
): Promise<ArtifactReply> {
  const topic = artifactTopic(request.message);
  if (kind === "courses") {
    const { findCourses } = await import("../generation/courses.ts");
    const found = await findCourses({ search: deps.webSearch }, topic);
    return { text: found.text, citations: [], offline: false };
  }
  if (kind === "mindmap") {
    const { generateMindMap, toChatMindMap } = await import("../generation/mindmap.ts");
    const map = await generateMindMap(deps, {
      userId: request.userId,
      topic,
      depth: 2,
      useDocuments: true,
      sessionId: request.sessionId,
    });
    const json = JSON.stringify(toChatMindMap(map.root));
    return { text: `${json}\n\nHere is your mind map of ${topic}.`, citations: map.citations, offline: map.offline };
  }
  const material = await materialFor(deps, request.userId, request.sessionId, topic);
  if (!material) return { text: NEEDS_MATERIAL, citations: [], offline: true };
  switch (kind) {
    case "quiz": {
      const { formatQuizForChat, generateQuiz } = await import("../generation/quiz.ts");
      const quiz = await generateQuiz(deps, { material, numQuestions: 5, difficulty: "medium", topic });
      const text = `${formatQuizForChat(quiz.questions)}\n\nGood luck! Ask me to explain any answer.`;
      return { text, citations: citationsOf(quiz.questions), offline: quiz.offline };
    }
    case "flashcards": {
      const { generateFlashcards, toChatFlashcards } = await import("../generation/flashcards.ts");
      const set = await generateFlashcards(deps, {
        userId: request.userId,
        sessionId: request.sessionId,
        topic,
        count: 18,
        ...(material.stored ? {} : { text: material.sections.map((section) => section.text).join("\n\n") }),
      });
      const json = JSON.stringify(toChatFlashcards(set.title, set.cards));
      const note = `\n\nHere are ${Math.min(set.cards.length, 20)} flashcards on ${topic}. Save them as a deck to review them with spaced repetition.`;
      return { text: `${json}${note}`, citations: citationsOf(set.cards), offline: set.offline };
    }
    case "infographic": {
      const { generateInfographic } = await import("../generation/infographic.ts");
      const infographic = await generateInfographic(deps, material, topic);
      return {
        text: `${JSON.stringify(infographic)}\n\nYour infographic on ${topic} is ready.`,
        citations: [],
        offline: deps.model.info.kind === "offline",
      };
    }
    case "report": {
      const { generateReport } = await import("../generation/report.ts");
      const report = await generateReport(deps, material, topic);
      return {
        text: report.markdown,
        citations: report.citations.map(({ marker: _marker, ...citation }) => citation),
        offline: report.generatedBy === "extractive",
      };
    }
  }
}
