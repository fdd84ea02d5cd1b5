// Infographics (the contract's JSON for the notebook's Studio): by the model when configured, with
// every stat and year checked against the material; offline, built from the material's headings,
// key sentences, the numbers it states and the years it mentions.
import type { ChatModel } from "../llm/chat-model.ts";
import { generateStructured, StructuredOutputError } from "../llm/structured.ts";
import { z } from "../validation/zod.ts";
import type { Material } from "./material.ts";
import {
  keyPhrase,
  keySentences,
  numberFacts,
  numbersIn,
  rankSentences,
  type SentenceGroup,
  sentenceGroups,
  yearFacts,
} from "./sentences.ts";

export interface InfographicStat {
  label: string;
  value: string;
  color?: string;
}

export interface InfographicSection {
  id: string;
  title: string;
  icon: string;
  stats?: InfographicStat[];
  keyPoints?: string[];
}

export interface Infographic {
  title: string;
  subtitle?: string;
  sections: InfographicSection[];
  timeline?: Array<{ year: string; event: string; description: string }>;
  comparisons?: Array<{ category: string; optionA: string; optionB: string }>;
  conclusion?: string;
}

export interface InfographicDeps {
  model: ChatModel;
}

const MIN_SECTIONS = 3;
const MAX_SECTIONS = 5;
const COLORS = ["#3B82F6", "#10B981", "#F59E0B", "#EF4444", "#8B5CF6"];
const EMOJI = /\p{Extended_Pictographic}/u;

// Keyword → icon, first match wins; a deterministic choice the frontend can render anywhere.
const ICONS: Array<[RegExp, string]> = [
  [/\b(?:water|ocean|rain|river|sea|ice|snow|precipitation|evapor)/i, "💧"],
  [/\b(?:cloud|weather|climate|atmosphere|wind|storm)/i, "☁️"],
  [/\b(?:sun|light|solar|photosynth)/i, "☀️"],
  [/\b(?:plant|leaf|leaves|tree|forest|chlorophyll)/i, "🌱"],
  [/\b(?:cell|dna|gene|protein|organ|mitochond|biolog)/i, "🧬"],
  [/\b(?:immun|disease|health|virus|bacteri|antibod)/i, "🩺"],
  [/\b(?:heat|temperature|thermo|energy|entropy)/i, "🌡️"],
  [/\b(?:force|motion|newton|mass|accelerat|gravity)/i, "⚙️"],
  [/\b(?:plate|earthquake|volcan|rock|crust|mantle|tecton)/i, "🌋"],
  [/\b(?:chemi|molecule|acid|reaction|atom|bond|group)/i, "🧪"],
  [/\b(?:war|battle|army|military|alliance)/i, "⚔️"],
  [/\b(?:revolution|king|monarch|empire|politic|government|parliament)/i, "🏛️"],
  [/\b(?:market|price|demand|supply|money|econom|cost|financ|tax|debt)/i, "💰"],
  [/\b(?:probab|statistic|number|data|percent|math)/i, "📊"],
  [/\b(?:learn|model|algorithm|neural|train)/i, "🧠"],
  [/\b(?:play|character|scene|poem|novel|story)/i, "📖"],
  [/\b(?:people|human|society|popul)/i, "👥"],
  [/\b(?:time|year|century|history|age|period)/i, "⏳"],
];
const DEFAULT_ICONS = ["📌", "🔍", "💡", "📈", "🧩"];

/** An icon for the section: its heading's keyword first, then its text's, avoiding icons already used. */
function iconFor(heading: string, text: string, index: number, used: Set<string> = new Set()): string {
  for (const source of [heading, text.slice(0, 200)]) {
    const icon = ICONS.find(([pattern, candidate]) => pattern.test(source) && !used.has(candidate))?.[1];
    if (icon) return icon;
  }
  return DEFAULT_ICONS.find((icon) => !used.has(icon)) ?? DEFAULT_ICONS[index % DEFAULT_ICONS.length] ?? "📌";
}

function clip(text: string, max = 220): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  return `${cut.slice(0, Math.max(cut.lastIndexOf(" "), max - 20))}…`;
}

function remember(used: Set<string>, icon: string): string {
  used.add(icon);
  return icon;
}

/** A window of the sentence that keeps `needle` visible (the year of a timeline event). */
function clipAround(text: string, needle: string, max: number): string {
  if (text.length <= max) return text;
  const at = text.indexOf(needle);
  if (at < 0 || at + needle.length <= max - 1) return clip(text, max);
  const start = text.lastIndexOf(" ", Math.max(0, at - Math.floor(max / 2))) + 1;
  return `…${clip(text.slice(start), max - 1)}`;
}

/** Up to five groups (the most central when there are more), in material order; at least three when possible. */
function chooseGroups(material: Material, topic: string): SentenceGroup[] {
  const groups = sentenceGroups(material);
  const titled = groups.filter((group) => group.heading !== "");
  const documentTitle = material.sections[0]?.heading_path[0];
  // The document's own title heading is the infographic's title, not a section, when there are others.
  const candidates = titled.filter((group) => group.heading !== documentTitle || titled.length <= MIN_SECTIONS);
  if (candidates.length >= MIN_SECTIONS) {
    if (candidates.length <= MAX_SECTIONS) return candidates;
    const all = candidates.flatMap((group) => group.sentences);
    const ranked = rankSentences(all, topic);
    const rankOf = new Map(ranked.map((sentence, index) => [sentence, index]));
    // Groups stating numbers come first (an infographic lives on its stats), then the most central.
    const best = (group: SentenceGroup) =>
      Math.min(...group.sentences.map((s) => rankOf.get(s) ?? Number.MAX_SAFE_INTEGER)) +
      (numberFacts(group.sentences).length > 0 ? 0 : all.length);
    const chosen = new Set([...candidates].sort((a, b) => best(a) - best(b)).slice(0, MAX_SECTIONS));
    return candidates.filter((group) => chosen.has(group));
  }
  // Too few headings: split the sentences into three to five runs named by their key words.
  const sentences = groups.flatMap((group) => group.sentences);
  const count = Math.min(MAX_SECTIONS, Math.max(MIN_SECTIONS, Math.floor(sentences.length / 3)));
  if (sentences.length < MIN_SECTIONS) return [];
  const runs: SentenceGroup[] = [];
  const used = new Set(topic.toLowerCase().split(/\s+/));
  for (let i = 0; i < count; i++) {
    const run = sentences.slice(
      Math.floor((i * sentences.length) / count),
      Math.floor(((i + 1) * sentences.length) / count),
    );
    const phrase = keyPhrase(run, used) ?? `Part ${i + 1}`;
    used.add(phrase.toLowerCase());
    runs.push({ heading: phrase, sentences: run });
  }
  return runs;
}

/** The infographic built from the material alone (deterministic; every value verbatim from it). */
export function buildInfographicOffline(material: Material, topic: string): Infographic {
  const groups = chooseGroups(material, topic);
  const all = sentenceGroups(material).flatMap((group) => group.sentences);
  const title = topic.trim() || material.sections[0]?.heading_path[0] || material.titles[0] || "Study material";
  const usedIcons = new Set<string>();
  const sections: InfographicSection[] = groups.map((group, index) => {
    const stats = numberFacts(group.sentences)
      .slice(0, 3)
      .map((fact, n) => ({
        label: clip(fact.label, 60),
        value: fact.value,
        color: COLORS[(index + n) % COLORS.length] ?? "#3B82F6",
      }));
    const keyPoints = keySentences(group.sentences, 3, topic).map((sentence) => clip(sentence.text));
    return {
      id: `section-${index + 1}`,
      title: group.heading,
      icon: remember(usedIcons, iconFor(group.heading, keyPoints.join(" "), index, usedIcons)),
      ...(stats.length > 0 ? { stats } : {}),
      ...(keyPoints.length > 0 ? { keyPoints } : {}),
    };
  });
  if (sections.length < MIN_SECTIONS) {
    // So little text that three sections cannot be told apart: say so in the sections themselves.
    const sentences = all.map((sentence) => clip(sentence.text));
    while (sections.length < MIN_SECTIONS) {
      const index = sections.length;
      const point = sentences[index];
      sections.push({
        id: `section-${index + 1}`,
        title: ["Overview", "Key idea", "Details"][index] ?? `Part ${index + 1}`,
        icon: DEFAULT_ICONS[index] ?? "📌",
        keyPoints: point ? [point] : ["Add more material to get a fuller infographic."],
      });
    }
  }
  const years = yearFacts(all);
  const timeline =
    years.length >= 2
      ? years.slice(0, 6).map(({ year, sentence }) => ({
          year,
          event: clipAround(sentence.text, year, 140),
          description: sentence.section.heading_path.at(-1) ?? title,
        }))
      : undefined;
  const conclusion = rankSentences(all, topic)[0];
  return {
    title,
    subtitle:
      material.titles.length > 0
        ? `Key facts from ${material.titles.slice(0, 3).join(", ")}`
        : "Key facts from your material",
    sections,
    ...(timeline ? { timeline } : {}),
    ...(conclusion ? { conclusion: clip(conclusion.text, 300) } : {}),
  };
}

const ModelInfographic = z.object({
  title: z.string().min(1).max(200),
  subtitle: z.string().max(300).optional(),
  sections: z
    .array(
      z.object({
        id: z.string().max(60).optional(),
        title: z.string().min(1).max(120),
        icon: z.string().max(16).default(""),
        stats: z
          .array(
            z.object({
              label: z.string().min(1).max(120),
              value: z.union([z.string(), z.number()]).transform(String),
              color: z.string().max(20).optional(),
            }),
          )
          .max(6)
          .optional(),
        keyPoints: z.array(z.string().min(1).max(400)).max(6).optional(),
      }),
    )
    .min(MIN_SECTIONS)
    .max(MAX_SECTIONS),
  timeline: z
    .array(
      z.object({
        year: z.union([z.string(), z.number()]).transform(String),
        event: z.string().max(300),
        description: z.string().max(500).default(""),
      }),
    )
    .max(12)
    .optional(),
  comparisons: z
    .array(z.object({ category: z.string().max(120), optionA: z.string().max(300), optionB: z.string().max(300) }))
    .max(8)
    .optional(),
  conclusion: z.string().max(600).optional(),
});

const MATERIAL_PROMPT_CHARS = 12_000;

function materialExcerpt(material: Material): string {
  let text = "";
  for (const section of material.sections) {
    if (text.length + section.text.length > MATERIAL_PROMPT_CHARS) break;
    text += `${section.text}\n\n`;
  }
  return text.trim();
}

/** Only what the material supports: stats whose numbers it states, years it mentions, emoji icons. */
function groundInMaterial(value: z.infer<typeof ModelInfographic>, materialText: string): Infographic {
  const known = numbersIn(materialText);
  const supported = (text: string) => {
    const numbers = numbersIn(text);
    return numbers.size > 0 && [...numbers].every((number) => known.has(number));
  };
  const sections = value.sections.map((section, index) => {
    const stats = (section.stats ?? []).filter((stat) => supported(stat.value));
    return {
      id: `section-${index + 1}`,
      title: section.title,
      icon: EMOJI.test(section.icon) ? section.icon : iconFor(section.title, "", index),
      ...(stats.length > 0 ? { stats } : {}),
      ...(section.keyPoints?.length ? { keyPoints: section.keyPoints } : {}),
    };
  });
  const timeline = (value.timeline ?? []).filter((item) => supported(item.year));
  return {
    title: value.title,
    ...(value.subtitle ? { subtitle: value.subtitle } : {}),
    sections,
    ...(timeline.length > 0 ? { timeline } : {}),
    ...(value.comparisons?.length ? { comparisons: value.comparisons } : {}),
    ...(value.conclusion ? { conclusion: value.conclusion } : {}),
  };
}

/** An infographic of the material about `topic`: the model's (grounded) when configured, else built offline. */
export async function generateInfographic(
  deps: InfographicDeps,
  material: Material,
  topic: string,
): Promise<Infographic> {
  if (deps.model.info.kind === "offline" || material.sections.length === 0)
    return buildInfographicOffline(material, topic);
  const excerpt = materialExcerpt(material);
  try {
    const { value } = await generateStructured({
      model: deps.model,
      schema: ModelInfographic,
      name: "infographic",
      temperature: 0.2,
      messages: [
        {
          role: "system",
          content:
            "You design study infographics. Use only facts from the material. Every stat value must be a number written in the material. Answer with one JSON object.",
        },
        {
          role: "user",
          content: `Topic: ${topic || "the material"}\n\nMaterial:\n${excerpt}\n\nJSON shape: {"title", "subtitle", "sections": [3 to 5 of {"title", "icon": one emoji, "stats": [{"label", "value"}], "keyPoints": [short strings]}], "timeline": [{"year", "event", "description"}], "conclusion"}`,
        },
      ],
    });
    return groundInMaterial(value, material.sections.map((section) => section.text).join("\n"));
  } catch (error) {
    // A model that is down or cannot produce valid JSON still leaves the student an infographic of their material.
    if (error instanceof StructuredOutputError || !(error instanceof Error && error.name === "AbortError")) {
      return buildInfographicOffline(material, topic);
    }
    throw error;
  }
}
