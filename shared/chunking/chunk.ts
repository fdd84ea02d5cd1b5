// Structure-aware chunking: pages, then Markdown headings, then paragraphs, then sentences, then
// words. Every chunk is an exact slice of its page's text, so a citation can quote it verbatim
// and point at its character offsets.
import type { ExtractedDocument, ExtractedPage } from "#shared/extraction/types.ts";

export interface Chunk {
  sourceId: string;
  /** Deterministic `${sourceId}:${index}`, so a retried ingestion writes the same ids. */
  chunkId: string;
  index: number;
  text: string;
  page: number;
  /** Character offsets into the page's text: `text === pageText.slice(startOffset, endOffset)`. */
  startOffset: number;
  endOffset: number;
  headingPath: string[];
}

export interface ChunkOptions {
  sourceId: string;
  /** Preferred chunk length in characters (default 1000); a single longer word is never cut. */
  targetChars?: number;
  /** Characters repeated from the end of a chunk at the start of the next one in the same section (default 150). */
  overlapChars?: number;
}

interface Unit {
  start: number;
  end: number;
  /** First unit of a paragraph: a preferred place to end a chunk. */
  paragraphStart: boolean;
}

interface Section {
  start: number;
  end: number;
  headingPath: string[];
  /** End of the heading line when the section starts with one. */
  headingEnd?: number;
}

const HEADING = /^(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$/;
const FENCE = /^ {0,3}(```|~~~)/;
const SENTENCE_END = /[.!?…]+["'”’)\]]*(?=\s)|\n(?=[ \t]*(?:[-*+]|\d+[.)])[ \t])/g;
const PARAGRAPH_BREAK = /\n[ \t]*\n\s*/g;

function isSpace(char: string | undefined): boolean {
  return char !== undefined && /\s/.test(char);
}

/** Narrows [start, end) to exclude leading and trailing whitespace; empty ranges collapse to start. */
function trimRange(text: string, start: number, end: number): [number, number] {
  let s = start;
  let e = end;
  while (s < e && isSpace(text[s])) s++;
  while (e > s && isSpace(text[e - 1])) e--;
  return [s, e];
}

function splitSections(text: string, carried: { level: number; title: string }[]): Section[] {
  const sections: Section[] = [];
  let current: Section = { start: 0, end: text.length, headingPath: carried.map((h) => h.title) };
  let inFence = false;
  let lineStart = 0;
  while (lineStart <= text.length) {
    const newline = text.indexOf("\n", lineStart);
    const lineEnd = newline < 0 ? text.length : newline;
    const line = text.slice(lineStart, lineEnd);
    if (FENCE.test(line)) inFence = !inFence;
    const heading = inFence ? null : HEADING.exec(line);
    if (heading?.[1] !== undefined && heading[2] !== undefined) {
      const level = heading[1].length;
      while (carried.length > 0 && (carried[carried.length - 1]?.level ?? 0) >= level) carried.pop();
      carried.push({ level, title: heading[2].trim() });
      current.end = lineStart;
      sections.push(current);
      current = { start: lineStart, end: text.length, headingPath: carried.map((h) => h.title), headingEnd: lineEnd };
    }
    if (newline < 0) break;
    lineStart = newline + 1;
  }
  sections.push(current);
  return sections;
}

function wordPieces(text: string, start: number, end: number, target: number, units: Unit[], paragraphStart: boolean) {
  const words = /\S+/g;
  words.lastIndex = start;
  let pieceStart = -1;
  let pieceEnd = -1;
  let first = paragraphStart;
  for (let match = words.exec(text); match !== null && match.index < end; match = words.exec(text)) {
    const wordEnd = match.index + match[0].length;
    if (pieceStart >= 0 && wordEnd - pieceStart > target) {
      units.push({ start: pieceStart, end: pieceEnd, paragraphStart: first });
      first = false;
      pieceStart = -1;
    }
    if (pieceStart < 0) pieceStart = match.index;
    pieceEnd = wordEnd;
  }
  if (pieceStart >= 0) units.push({ start: pieceStart, end: pieceEnd, paragraphStart: first });
}

function paragraphUnits(text: string, start: number, end: number, target: number, units: Unit[]): void {
  const boundary = new RegExp(SENTENCE_END.source, "g");
  boundary.lastIndex = start;
  let cursor = start;
  let first = true;
  while (cursor < end) {
    const match = boundary.exec(text);
    const sentenceEnd = match === null || match.index >= end ? end : match.index + match[0].length;
    const [s, e] = trimRange(text, cursor, sentenceEnd);
    if (e > s) {
      if (e - s > target) wordPieces(text, s, e, target, units, first);
      else units.push({ start: s, end: e, paragraphStart: first });
      first = false;
    }
    cursor = sentenceEnd;
    if (match === null) break;
  }
}

function sectionUnits(text: string, section: Section, target: number): Unit[] {
  const units: Unit[] = [];
  let bodyStart = section.start;
  if (section.headingEnd !== undefined) {
    const [s, e] = trimRange(text, section.start, section.headingEnd);
    if (e > s) units.push({ start: s, end: e, paragraphStart: true });
    bodyStart = section.headingEnd;
  }
  const breaks = new RegExp(PARAGRAPH_BREAK.source, "g");
  breaks.lastIndex = bodyStart;
  let paragraphStart = bodyStart;
  for (let match = breaks.exec(text); match !== null && match.index < section.end; match = breaks.exec(text)) {
    const [s, e] = trimRange(text, paragraphStart, match.index);
    if (e > s) paragraphUnits(text, s, e, target, units);
    paragraphStart = match.index + match[0].length;
  }
  const [s, e] = trimRange(text, paragraphStart, section.end);
  if (e > s) paragraphUnits(text, s, e, target, units);
  return units;
}

/** Start of the overlap carried into the next chunk: a sentence start if one is close enough, else a word start. */
function overlapStart(text: string, units: Unit[], chunkStart: number, chunkEnd: number, overlap: number) {
  const lowest = chunkEnd - overlap;
  const sentence = units.find((unit) => unit.start >= lowest && unit.start > chunkStart && unit.start < chunkEnd);
  if (sentence !== undefined && chunkEnd - sentence.start >= overlap / 3) return sentence.start;
  for (let p = Math.max(lowest, chunkStart + 1); p < chunkEnd; p++) {
    if (!isSpace(text[p]) && isSpace(text[p - 1])) return p;
  }
  return undefined;
}

function packSection(
  text: string,
  units: Unit[],
  target: number,
  overlap: number,
  emit: (start: number, end: number) => void,
): void {
  let i = 0;
  let carried: number | undefined;
  while (i < units.length) {
    const first = units[i];
    if (first === undefined) break;
    // Keep the overlap only while it still leaves room for new text.
    const start = carried !== undefined && first.end - carried <= target ? carried : first.start;
    let end = first.end;
    let next = i + 1;
    for (let unit = units[next]; unit !== undefined; unit = units[next]) {
      if (unit.end - start > target) break;
      // A paragraph break is a better place to stop than mid-paragraph once the chunk is substantial.
      if (unit.paragraphStart && end - start >= target * 0.6) break;
      end = unit.end;
      next++;
    }
    emit(start, end);
    carried =
      next < units.length && overlap > 0 ? overlapStart(text, units.slice(i, next), start, end, overlap) : undefined;
    i = next;
  }
}

export interface PageChunker {
  /** Chunks of one page; pages must come in order, since headings carry over page breaks. */
  chunkPage(page: ExtractedPage): Generator<Chunk>;
}

/**
 * A chunker fed one page at a time, so ingestion can chunk, embed and release each page while the
 * next one is still being extracted. Chunk indices and heading paths continue across pages.
 */
export function createChunker(options: ChunkOptions): PageChunker {
  const target = Math.max(1, options.targetChars ?? 1000);
  const overlap = Math.max(0, Math.min(options.overlapChars ?? 150, Math.floor(target / 2)));
  const headingStack: { level: number; title: string }[] = [];
  let nextIndex = 0;
  function* sectionChunks(page: ExtractedPage, sections: Section[]): Generator<Chunk> {
    const text = page.text;
    for (const section of sections) {
      const units = sectionUnits(text, section, target);
      const chunks: Chunk[] = [];
      packSection(text, units, target, overlap, (start, end) => {
        const index = nextIndex++;
        chunks.push({
          sourceId: options.sourceId,
          chunkId: `${options.sourceId}:${index}`,
          index,
          text: text.slice(start, end),
          page: page.page,
          startOffset: start,
          endOffset: end,
          headingPath: [...section.headingPath],
        });
      });
      yield* chunks;
    }
  }
  return {
    // Sections are split at the call, not on first iteration, so the heading stack follows page order.
    chunkPage: (page) => sectionChunks(page, splitSections(page.text, headingStack)),
  };
}

/** Splits an extracted document into citation-ready chunks (page, offsets, heading path). */
export function chunkDocument(doc: ExtractedDocument, options: ChunkOptions): Chunk[] {
  const chunker = createChunker(options);
  const chunks: Chunk[] = [];
  for (const page of doc.pages) {
    for (const chunk of chunker.chunkPage(page)) chunks.push(chunk);
  }
  return chunks;
}
