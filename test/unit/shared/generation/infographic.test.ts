// Infographics offline (from the material alone) and with a stub model (grounded in the material);
// every result must pass the frontend's infographic parser.
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "#shared/config/config.ts";
import { createChatModel } from "#shared/engine/model.ts";
import { linkedModelClients } from "#shared/engine/model-clients.ts";
import { buildInfographicOffline, generateInfographic } from "#shared/generation/infographic.ts";
import { type Material, materialFromText } from "#shared/generation/material.ts";
import type { ChatModel } from "#shared/llm/chat-model.ts";
import { createOfflineChatModel } from "#shared/llm/offline.ts";
import { infographicProblems } from "#test/support/frontend-parsers.ts";
import { type StubLlm, startStubLlm } from "#test/support/stub-llm.ts";

const CORPUS = new URL("../../../fixtures/corpus/", import.meta.url);

async function corpus(name: string): Promise<{ text: string; material: Material }> {
  const text = await readFile(new URL(`${name}.md`, CORPUS), "utf8");
  return { text, material: materialFromText(text) };
}

function statNumbers(value: string): string[] {
  return value.match(/\d[\d,]*(?:\.\d+)?/g) ?? [];
}

describe("offline infographic", () => {
  it.each(["water-cycle", "probability-basics", "french-revolution", "newtons-laws", "supply-and-demand", "macbeth"])(
    "passes the frontend parser for %s, with stats only from numbers in the material",
    async (name) => {
      // Prepare
      const { text, material } = await corpus(name);

      // Act
      const infographic = await generateInfographic({ model: createOfflineChatModel() }, material, "");

      // Assess
      expect(infographicProblems(infographic)).toEqual([]);
      expect(infographic.sections.length).toBeGreaterThanOrEqual(3);
      expect(infographic.sections.length).toBeLessThanOrEqual(5);
      for (const section of infographic.sections) {
        for (const stat of section.stats ?? []) {
          expect(statNumbers(stat.value).length).toBeGreaterThan(0);
          for (const number of statNumbers(stat.value)) expect(text).toContain(number);
        }
        for (const point of section.keyPoints ?? [])
          expect(text.replace(/\s+/g, " ")).toContain(point.replace(/…$/, ""));
      }
    },
  );

  it("takes sections from the headings, states the material's numbers with labels, and is deterministic", async () => {
    // Prepare
    const { material } = await corpus("water-cycle");

    // Act
    const first = buildInfographicOffline(material, "");
    const second = buildInfographicOffline(material, "");

    // Assess
    expect(second).toEqual(first);
    expect(first.title).toBe("The Water Cycle");
    expect(first.sections[0]).toMatchObject({ id: "section-1", title: "Water on the move", icon: "💧" });
    expect(first.sections[0]?.stats).toEqual([
      { label: "Most of the Earth's water, about", value: "97 percent", color: "#3B82F6" },
    ]);
    expect(new Set(first.sections.map((section) => section.icon)).size).toBe(first.sections.length);
  });

  it("builds a chronological timeline from the years in the material", async () => {
    // Prepare
    const { text, material } = await corpus("french-revolution");

    // Act
    const infographic = buildInfographicOffline(material, "The French Revolution");

    // Assess
    const years = (infographic.timeline ?? []).map((item) => Number(item.year));
    expect(years.length).toBeGreaterThanOrEqual(2);
    expect([...years].sort((a, b) => a - b)).toEqual(years);
    for (const item of infographic.timeline ?? []) {
      expect(text).toContain(item.year);
      expect(item.event).toContain(item.year);
    }
    expect(infographic.title).toBe("The French Revolution");
  });

  it("still gives three sections for a short text without headings", () => {
    // Prepare
    const material = materialFromText(
      "Mitochondria release energy from glucose in aerobic respiration. Ribosomes build proteins from amino acids. The nucleus stores the cell's DNA.",
    );

    // Act
    const infographic = buildInfographicOffline(material, "Cell organelles");

    // Assess
    expect(infographicProblems(infographic)).toEqual([]);
    expect(infographic.sections).toHaveLength(3);
  });
});

describe("infographic with a model", () => {
  let stub: StubLlm;
  let model: ChatModel;

  beforeAll(async () => {
    stub = await startStubLlm();
    model = await createChatModel(
      loadConfig({ LLM_BASE_URL: stub.baseUrl, LLM_MODEL: "stub-model", LLM_MAX_RETRIES: "0", LOG_LEVEL: "SILENT" }),
      linkedModelClients,
    );
  });

  afterAll(async () => {
    await stub.close();
  });

  it("keeps the model's sections but drops stats whose numbers are not in the material and fixes non-emoji icons", async () => {
    // Prepare
    const { material } = await corpus("water-cycle");
    const answer = {
      title: "The water cycle at a glance",
      sections: [
        {
          title: "Oceans",
          icon: "🌊",
          stats: [
            { label: "Salty water", value: "97 percent" },
            { label: "Made up", value: "42%" },
          ],
        },
        { title: "Evaporation", icon: "sun", keyPoints: ["Sunlight lifts water into the air."] },
        { title: "Residence", icon: "⏳", stats: [{ label: "No number", value: "many" }] },
      ],
      timeline: [{ year: "1850", event: "Invented", description: "Not in the material" }],
      conclusion: "Water keeps moving.",
    };
    stub.setBehaviour({ tokens: [JSON.stringify(answer)] });

    // Act
    const infographic = await generateInfographic({ model }, material, "water cycle");

    // Assess
    expect(infographicProblems(infographic)).toEqual([]);
    expect(infographic.title).toBe("The water cycle at a glance");
    expect(infographic.sections[0]?.stats).toEqual([{ label: "Salty water", value: "97 percent" }]);
    expect(infographic.sections[1]?.icon).toMatch(/\p{Extended_Pictographic}/u);
    expect(infographic.sections[2]?.stats).toBeUndefined();
    expect(infographic.timeline).toBeUndefined();
    expect(infographic.sections.map((section) => section.id)).toEqual(["section-1", "section-2", "section-3"]);
  });

  it("falls back to the offline infographic when the model's answer is not valid", async () => {
    // Prepare
    const { material } = await corpus("water-cycle");
    stub.setBehaviour({ tokens: ['{"title": "Only two sections", "sections": [{"title": "A"}, {"title": "B"}]}'] });

    // Act
    const infographic = await generateInfographic({ model }, material, "");

    // Assess
    expect(infographicProblems(infographic)).toEqual([]);
    expect(infographic).toEqual(buildInfographicOffline(material, ""));
  });
});
