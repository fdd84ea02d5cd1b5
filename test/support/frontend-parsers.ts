// The acceptance rules of the Collabry frontend's artifact parsers, reimplemented from
// API-CONTRACT.md ("Study artifacts through the session stream"). Each returns the problems it
// finds (empty = the frontend renders the artifact); tests assert on that list.

const PLACEHOLDER_LABEL =
  /^(main topic( name)?|topic|subtopic( \d+)?|sub-topic( \d+)?|node( \d+)?|concept( \d+)?|idea( \d+)?|branch( \d+)?|detail( \d+)?|key point( \d+)?|item( \d+)?|label|title|placeholder|example|\.\.\.|…|n\/a|tbd|todo)$/i;

/** Quiz text: per question `Question N: …?`, `A) …` to `D) …`, `Answer: <letter>`, `Explanation: …`. */
export function quizTextProblems(text: string, expectedQuestions?: number): string[] {
  const problems: string[] = [];
  const lines = text.split("\n").map((line) => line.trim());
  const starts = lines.flatMap((line, index) => (/^Question \d+:/.test(line) ? [index] : []));
  if (starts.length === 0) return ["no 'Question N:' line"];
  if (!text.trimStart().startsWith("Question 1:")) problems.push("the reply does not start with the quiz");
  if (expectedQuestions !== undefined && starts.length !== expectedQuestions) {
    problems.push(`expected ${expectedQuestions} questions, found ${starts.length}`);
  }
  starts.forEach((start, n) => {
    const block = lines.slice(start, starts[n + 1] ?? lines.length).filter((line) => line !== "");
    const label = `question ${n + 1}`;
    const header = /^Question (\d+): (.+)$/.exec(block[0] ?? "");
    if (!header || Number(header[1]) !== n + 1) problems.push(`${label}: numbering`);
    if (!header?.[2]?.trim().endsWith("?")) problems.push(`${label}: the question does not end with '?'`);
    const options = ["A", "B", "C", "D"].map((letter) => block.find((line) => line.startsWith(`${letter}) `)));
    options.forEach((option, i) => {
      if (!option || option.slice(3).trim() === "") problems.push(`${label}: option ${"ABCD"[i]} missing`);
    });
    const texts = options.map((option) => option?.slice(3).trim().toLowerCase());
    if (new Set(texts).size !== 4) problems.push(`${label}: options are not distinct`);
    const answer = block.find((line) => line.startsWith("Answer:"));
    if (!answer || !/^Answer: [ABCD]$/.test(answer)) problems.push(`${label}: 'Answer: <A-D>' line`);
    const explanation = block.find((line) => line.startsWith("Explanation:"));
    if (!explanation || explanation.slice(12).trim() === "") problems.push(`${label}: explanation missing`);
  });
  return problems;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Parses the first JSON object at the start of a reply (the frontend reads the artifact first). */
export function leadingJson(text: string): unknown {
  const trimmed = text.trimStart();
  if (!trimmed.startsWith("{") && !trimmed.startsWith("```")) throw new Error("the reply does not start with JSON");
  const body = trimmed.startsWith("```") ? trimmed.replace(/^```(?:json)?\s*/i, "") : trimmed;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const char = body[i];
    if (inString) {
      if (char === "\\") i++;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === "{") depth++;
    else if (char === "}" && --depth === 0) return JSON.parse(body.slice(0, i + 1));
  }
  throw new Error("unbalanced JSON");
}

/**
 * Mind map JSON: nodes `{id, label, level}` (root at level 0, levels 0–2), edges `{from, to}`,
 * 10–20 nodes, labels of 2–5 real words (no placeholders), every edge between known nodes.
 * `material`, when given, must contain every word of every label (case-insensitive).
 */
export function mindMapProblems(value: unknown, material?: string): string[] {
  if (!isObject(value)) return ["not an object"];
  const problems: string[] = [];
  const nodes = Array.isArray(value.nodes) ? value.nodes : [];
  const edges = Array.isArray(value.edges) ? value.edges : [];
  if (nodes.length < 10 || nodes.length > 20) problems.push(`${nodes.length} nodes (10–20 required)`);
  const ids = new Set<string>();
  const lowerMaterial = material?.toLowerCase();
  for (const node of nodes) {
    if (!isObject(node) || typeof node.id !== "string" || typeof node.label !== "string") {
      problems.push("a node without id/label");
      continue;
    }
    ids.add(node.id);
    if (typeof node.level !== "number" || node.level < 0 || node.level > 2) problems.push(`${node.id}: level`);
    const words = node.label.trim().split(/\s+/);
    if (node.level !== 0 && (words.length < 2 || words.length > 5)) {
      problems.push(`${node.id}: label "${node.label}" has ${words.length} words`);
    }
    if (PLACEHOLDER_LABEL.test(node.label.trim())) problems.push(`${node.id}: placeholder label "${node.label}"`);
    if (/[?]|\b(would you like|let me know|here is|here's)\b/i.test(node.label)) {
      problems.push(`${node.id}: follow-up text in a label`);
    }
    if (lowerMaterial) {
      for (const word of node.label.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
        if (!lowerMaterial.includes(word)) problems.push(`${node.id}: "${word}" is not in the material`);
      }
    }
  }
  const root = nodes.find((node) => isObject(node) && node.id === "root");
  if (!isObject(root) || root.level !== 0) problems.push("no root node at level 0");
  for (const edge of edges) {
    if (!isObject(edge) || typeof edge.from !== "string" || typeof edge.to !== "string") {
      problems.push("an edge without from/to");
    } else if (!ids.has(edge.from) || !ids.has(edge.to)) {
      problems.push(`edge ${edge.from}→${edge.to} points to an unknown node`);
    }
  }
  if (edges.length < nodes.length - 1) problems.push("some nodes are not connected");
  return problems;
}

/** Flashcards JSON: `{title, cards: [{id: "card-N", front, back, category?, difficulty?}]}`, 15–20 cards. */
export function flashcardsProblems(value: unknown): string[] {
  if (!isObject(value)) return ["not an object"];
  const problems: string[] = [];
  if (typeof value.title !== "string" || value.title.trim() === "") problems.push("title missing");
  const cards = Array.isArray(value.cards) ? value.cards : [];
  if (cards.length < 15 || cards.length > 20) problems.push(`${cards.length} cards (15–20 required)`);
  for (const [index, card] of cards.entries()) {
    if (!isObject(card)) {
      problems.push(`card ${index + 1}: not an object`);
      continue;
    }
    if (card.id !== `card-${index + 1}`) problems.push(`card ${index + 1}: id ${String(card.id)}`);
    for (const side of ["front", "back"] as const) {
      if (typeof card[side] !== "string" || (card[side] as string).trim() === "") {
        problems.push(`card ${index + 1}: ${side} missing`);
      }
    }
    if (card.difficulty !== undefined && !["easy", "medium", "hard"].includes(String(card.difficulty))) {
      problems.push(`card ${index + 1}: difficulty ${String(card.difficulty)}`);
    }
  }
  return problems;
}

const EMOJI = /\p{Extended_Pictographic}/u;

/** Infographic JSON: title, 3–5 sections each with id, title and an emoji icon; optional stats/timeline/comparisons. */
export function infographicProblems(value: unknown): string[] {
  if (!isObject(value)) return ["not an object"];
  const problems: string[] = [];
  if (typeof value.title !== "string" || value.title.trim() === "") problems.push("title missing");
  const sections = Array.isArray(value.sections) ? value.sections : [];
  if (sections.length < 3 || sections.length > 5) problems.push(`${sections.length} sections (3–5 required)`);
  for (const [index, section] of sections.entries()) {
    if (!isObject(section)) {
      problems.push(`section ${index + 1}: not an object`);
      continue;
    }
    if (typeof section.id !== "string" || section.id === "") problems.push(`section ${index + 1}: id`);
    if (typeof section.title !== "string" || section.title.trim() === "") problems.push(`section ${index + 1}: title`);
    if (typeof section.icon !== "string" || !EMOJI.test(section.icon)) problems.push(`section ${index + 1}: icon`);
    if (section.stats !== undefined) {
      if (!Array.isArray(section.stats)) problems.push(`section ${index + 1}: stats`);
      else
        for (const stat of section.stats) {
          if (
            !isObject(stat) ||
            typeof stat.label !== "string" ||
            (typeof stat.value !== "string" && typeof stat.value !== "number")
          ) {
            problems.push(`section ${index + 1}: a stat without label/value`);
          }
        }
    }
  }
  if (value.timeline !== undefined && !Array.isArray(value.timeline)) problems.push("timeline is not a list");
  if (value.comparisons !== undefined && !Array.isArray(value.comparisons)) problems.push("comparisons is not a list");
  return problems;
}

const COURSE_LINE =
  /^\[(?<title>[^\]]+)\]\((?<url>https?:\/\/[^)\s]+)\) - Platform: (?<platform>[^|]+?) \| Rating: (?<rating>\d(?:\.\d)?\/5) \| Price: (?<price>\$\d+(?:\.\d{2})?|Free)$/;
const COURSE_WORDS = /course|training|tutorial|certification|learn|class|program/i;

/** Course finder lines: `[Name](URL) - Platform: X | Rating: 4.7/5 | Price: $49|Free`; URLs must come from `allowedUrls`. */
export function courseLinesProblems(text: string, allowedUrls?: Set<string>): string[] {
  const lines = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.startsWith("["));
  if (lines.length === 0) return ["no course lines"];
  const problems: string[] = [];
  for (const line of lines) {
    const match = COURSE_LINE.exec(line);
    if (!match?.groups) {
      problems.push(`malformed: ${line}`);
      continue;
    }
    if (!COURSE_WORDS.test(match.groups.title ?? ""))
      problems.push(`title without a course word: ${match.groups.title}`);
    if (allowedUrls && !allowedUrls.has(match.groups.url ?? ""))
      problems.push(`URL not from search results: ${match.groups.url}`);
  }
  return problems;
}
