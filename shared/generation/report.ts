// Reports: Markdown with headings and bullets about a topic, with numbered citations. With a model,
// written from numbered passages and checked for the report's shape; offline (and when the model's
// answer is unusable), extractive: the material's own headings, its key sentences verbatim.
import type { ChatModel } from "../llm/chat-model.ts";
import { citeSection, type Material, type MaterialSection } from "./material.ts";
import { type GroupedSentence, keySentences, rankSentences, sentenceGroups } from "./sentences.ts";

export interface ReportCitation {
  /** The `[n]` marker used in the report. */
  marker: number;
  source_id: string;
  chunk_id: string;
  page: number;
  filename: string;
  quote: string;
}

export interface Report {
  markdown: string;
  citations: ReportCitation[];
  generatedBy: "model" | "extractive";
}

export interface ReportDeps {
  model: ChatModel;
  signal?: AbortSignal;
}

const MAX_GROUPS = 6;
const BULLETS_PER_GROUP = 3;
const OVERVIEW_BULLETS = 2;
const PROMPT_PASSAGES = 14;
const PROMPT_CHARS = 12_000;

/** Numbers citations by sentence, in order of first use: each quote is exactly the bullet it backs. */
function citationBook() {
  const bySentence = new Map<GroupedSentence, ReportCitation>();
  return {
    cite(sentence: GroupedSentence): number {
      const existing = bySentence.get(sentence);
      if (existing) return existing.marker;
      const marker = bySentence.size + 1;
      bySentence.set(sentence, {
        marker,
        ...citeSection(sentence.section, sentence.text),
        filename: sentence.section.filename,
      });
      return marker;
    },
    all: () => [...bySentence.values()],
  };
}

function sourcesSection(citations: ReportCitation[]): string[] {
  if (citations.length === 0) return [];
  // One line per source page, listing the markers that point into it.
  const pages = new Map<string, number[]>();
  for (const citation of citations) {
    const key = `${citation.filename}, page ${citation.page}`;
    pages.set(key, [...(pages.get(key) ?? []), citation.marker]);
  }
  return [
    "## Sources",
    "",
    ...[...pages].map(([where, markers]) => `- ${markers.map((m) => `[${m}]`).join(" ")} ${where}`),
  ];
}

/** The extractive report (deterministic; every bullet a verbatim sentence of the material with its citation). */
export function buildReportOffline(material: Material, topic: string): Report {
  const groups = sentenceGroups(material);
  const all = groups.flatMap((group) => group.sentences);
  const title = topic.trim() || material.sections[0]?.heading_path[0] || material.titles[0] || "Study material";
  const book = citationBook();
  const bullet = (sentence: GroupedSentence) => `- ${sentence.text} [${book.cite(sentence)}]`;
  if (all.length === 0) {
    return {
      markdown: `# ${title}\n\n## Overview\n\n- The material has no sentences to report on yet.`,
      citations: [],
      generatedBy: "extractive",
    };
  }
  const overview = keySentences(all, OVERVIEW_BULLETS, topic);
  const used = new Set(overview);
  const documentTitle = material.sections[0]?.heading_path[0];
  const headed = groups.filter((group) => group.heading !== "" && group.heading !== documentTitle);
  // The most relevant groups to the topic, kept in the material's order.
  const ranked = rankSentences(all, topic);
  const rankOf = new Map(ranked.map((sentence, index) => [sentence, index]));
  const best = (sentences: GroupedSentence[]) =>
    Math.min(...sentences.map((sentence) => rankOf.get(sentence) ?? Number.MAX_SAFE_INTEGER));
  const chosen = new Set([...headed].sort((a, b) => best(a.sentences) - best(b.sentences)).slice(0, MAX_GROUPS));
  const lines = [`# ${title}`, "", "## Overview", "", ...overview.map(bullet)];
  for (const group of headed.filter((candidate) => chosen.has(candidate))) {
    const sentences = keySentences(
      group.sentences.filter((sentence) => !used.has(sentence)),
      BULLETS_PER_GROUP,
      topic,
    );
    if (sentences.length === 0) continue;
    lines.push("", `## ${group.heading}`, "", ...sentences.map(bullet));
  }
  if (headed.length === 0) {
    // No headings to follow: the key points in the order the material makes them.
    const points = keySentences(
      all.filter((sentence) => !used.has(sentence)),
      MAX_GROUPS,
      topic,
    );
    if (points.length > 0) lines.push("", "## Key points", "", ...points.map(bullet));
  }
  const citations = book.all();
  lines.push("", ...sourcesSection(citations));
  return { markdown: lines.join("\n").trim(), citations, generatedBy: "extractive" };
}

/** True when the text is a report the Studio can render: a heading and at least two bullets. */
export function isReportShaped(markdown: string): boolean {
  const headings = markdown.match(/^#{1,3} \S/gm) ?? [];
  const bullets = markdown.match(/^\s*[-*] \S/gm) ?? [];
  return headings.length >= 1 && bullets.length >= 2;
}

function passagesFor(material: Material, topic: string): MaterialSection[] {
  const sentences = sentenceGroups(material).flatMap((group) => group.sentences);
  const order: MaterialSection[] = [];
  for (const sentence of rankSentences(sentences, topic)) {
    if (!order.includes(sentence.section)) order.push(sentence.section);
    if (order.length >= PROMPT_PASSAGES) break;
  }
  let total = 0;
  return order.filter((section) => {
    total += section.text.length;
    return total <= PROMPT_CHARS;
  });
}

/** A report about `topic` from the material: the model's when it has the right shape, else extractive. */
export async function generateReport(deps: ReportDeps, material: Material, topic: string): Promise<Report> {
  if (deps.model.info.kind === "offline" || material.sections.length === 0) return buildReportOffline(material, topic);
  const passages = passagesFor(material, topic);
  const numbered = passages.map((section, index) => `[${index + 1}] ${section.text}`).join("\n\n");
  let text: string;
  try {
    const result = await deps.model.complete({
      temperature: 0.2,
      ...(deps.signal ? { signal: deps.signal } : {}),
      messages: [
        {
          role: "system",
          content:
            "You write study reports in Markdown from the numbered passages only: a '# ' title, '## ' sections, '- ' bullets, each bullet ending with the [n] of its passage. No facts that are not in the passages.",
        },
        { role: "user", content: `Topic: ${topic || "the material"}\n\nPassages:\n${numbered}` },
      ],
    });
    text = result.text.trim();
  } catch (error) {
    if (deps.signal?.aborted) throw error;
    // The model is down: the student still gets the extractive report of their material.
    return buildReportOffline(material, topic);
  }
  if (!isReportShaped(text)) return buildReportOffline(material, topic);
  const used = new Set([...text.matchAll(/\[(\d+)\]/g)].map((match) => Number(match[1])));
  const citations: ReportCitation[] = passages.flatMap((section, index) =>
    used.has(index + 1) ? [{ marker: index + 1, ...citeSection(section), filename: section.filename }] : [],
  );
  return { markdown: text, citations, generatedBy: "model" };
}
