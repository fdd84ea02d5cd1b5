// Question answering over the student's material: retrieve passages (stored sources, an ad-hoc
// context or an attached file), then a grounded answer from the model — or, offline, an
// extractive answer quoting the passages. The same passages become the citations.
import { chunkDocument } from "../chunking/chunk.ts";
import { dot, type Embedder } from "../embeddings/embeddings.ts";
import type { ExtractedDocument } from "../extraction/extract.ts";
import type { ChatModel, TokenUsage } from "../llm/chat-model.ts";
import { STUDY_COPILOT_SYSTEM_PROMPT } from "../llm/prompts.ts";
import { extractiveAnswer } from "./extractive.ts";
import { groundedMessages } from "./grounding.ts";
import type { RetrievalScope, RetrievedPassage, Retriever } from "./retrieve.ts";

export interface QuestionRequest {
  question: string;
  scope: RetrievalScope;
  useRag: boolean;
  topK: number;
  /** Text given with the question (the original engine's `context`). */
  context?: string;
  /** A document attached to the question (qa/file routes); searched but not stored. */
  attachment?: { filename: string; document: ExtractedDocument };
  onToken?: (token: string) => Promise<void> | void;
  signal?: AbortSignal;
}

export interface Answer {
  answer: string;
  passages: RetrievedPassage[];
  confidence: number;
  offline: boolean;
  usage?: TokenUsage;
}

export interface AnswerDeps {
  retriever: Retriever;
  embedder: Embedder;
  model: ChatModel;
}

/** Ranks the chunks of an in-memory document against the question (nothing is stored). */
async function rankTransient(
  embedder: Embedder,
  question: string,
  sourceId: string,
  filename: string,
  document: ExtractedDocument,
  k: number,
): Promise<RetrievedPassage[]> {
  const chunks = chunkDocument(document, { sourceId });
  if (chunks.length === 0) return [];
  const [query, ...vectors] = await embedder.embed([question, ...chunks.map((chunk) => chunk.text)]);
  if (!query) return [];
  return chunks
    .map((chunk, index) => ({
      source_id: sourceId,
      chunk_id: chunk.chunkId,
      page: chunk.page,
      quote: chunk.text,
      filename,
      score: Math.round(dot(query, vectors[index] ?? new Float32Array()) * 10_000) / 10_000,
      heading_path: chunk.headingPath,
    }))
    .sort((a, b) => b.score - a.score)
    .slice(0, k);
}

/**
 * Merges ranked lists by rank, best first: the first of each list, then the second of each, and so
 * on. The lists' scores are not comparable — the retriever ranks by fused vector and BM25 evidence,
 * of which `score` (the cosine) is only a part — so re-sorting by score would undo its ranking.
 */
export function interleaveByRank<T>(lists: readonly T[][], k: number): T[] {
  const merged: T[] = [];
  const longest = Math.max(0, ...lists.map((list) => list.length));
  for (let rank = 0; rank < longest && merged.length < k; rank++) {
    for (const list of lists) {
      const item = list[rank];
      if (item !== undefined && merged.length < k) merged.push(item);
    }
  }
  return merged;
}

/** Gathers the passages a question is answered from, best first. */
export async function gatherPassages(deps: AnswerDeps, request: QuestionRequest): Promise<RetrievedPassage[]> {
  const lists: RetrievedPassage[][] = [];
  if (request.context && request.context.trim() !== "") {
    const document: ExtractedDocument = { type: "text", pages: [{ page: 1, text: request.context }] };
    lists.push(await rankTransient(deps.embedder, request.question, "context", "context", document, request.topK));
  }
  if (request.attachment) {
    const { filename, document } = request.attachment;
    lists.push(await rankTransient(deps.embedder, request.question, "attachment", filename, document, request.topK));
  }
  if (request.useRag) {
    const retrieved = await deps.retriever.retrieve(request.scope, request.question, request.topK);
    lists.push(retrieved.passages);
  }
  return interleaveByRank(lists, request.topK);
}

/** Confidence from retrieval: the best cosine similarity among the passages, clamped to [0, 1]. */
export function confidenceOf(passages: RetrievedPassage[]): number {
  const best = passages.reduce((top, passage) => Math.max(top, passage.score), 0);
  return Math.round(Math.min(1, Math.max(0, best)) * 100) / 100;
}

/** Answers a question from the student's material; streams tokens through `onToken` when given. */
export async function answerQuestion(
  deps: AnswerDeps,
  request: QuestionRequest,
  gathered?: RetrievedPassage[],
): Promise<Answer> {
  const passages = gathered ?? (await gatherPassages(deps, request));
  const confidence = confidenceOf(passages);
  if (deps.model.info.kind === "offline") {
    const answer = extractiveAnswer(request.question, passages);
    if (request.onToken) {
      for (const token of answer.match(/\S+\s*|\s+/g) ?? []) await request.onToken(token);
    }
    return { answer, passages, confidence, offline: true };
  }
  const messages = groundedMessages(STUDY_COPILOT_SYSTEM_PROMPT, request.question, passages);
  let answer = "";
  let usage: TokenUsage | undefined;
  for await (const chunk of deps.model.stream({ messages, ...(request.signal ? { signal: request.signal } : {}) })) {
    if (chunk.usage) usage = chunk.usage;
    if (chunk.text === "") continue;
    answer += chunk.text;
    await request.onToken?.(chunk.text);
  }
  return { answer, passages, confidence, offline: false, ...(usage ? { usage } : {}) };
}
