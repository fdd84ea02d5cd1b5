// Reports offline (extractive, cited) and with a stub model (shape-checked, with fallback).
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "#shared/config/config.ts";
import { createChatModel } from "#shared/engine/model.ts";
import { linkedModelClients } from "#shared/engine/model-clients.ts";
import { type Material, materialFromText } from "#shared/generation/material.ts";
import { buildReportOffline, generateReport, isReportShaped } from "#shared/generation/report.ts";
import type { ChatModel } from "#shared/llm/chat-model.ts";
import { createOfflineChatModel } from "#shared/llm/offline.ts";
import { type StubLlm, startStubLlm } from "#test/support/stub-llm.ts";

const CORPUS = new URL("../../../fixtures/corpus/", import.meta.url);

async function corpus(name: string): Promise<{ text: string; material: Material }> {
  const text = await readFile(new URL(`${name}.md`, CORPUS), "utf8");
  return { text, material: materialFromText(text) };
}

describe("offline report", () => {
  it("follows the material's headings with verbatim, cited bullets", async () => {
    // Prepare
    const { text, material } = await corpus("photosynthesis");
    const flat = text.replace(/\s+/g, " ");

    // Act
    const report = await generateReport({ model: createOfflineChatModel() }, material, "");

    // Assess
    const lines = report.markdown.split("\n");
    expect(lines[0]).toBe("# Photosynthesis: How Plants Capture Light Energy");
    expect(lines).toContain("## Overview");
    expect(lines).toContain("## The Calvin cycle");
    expect(lines).toContain("## Sources");
    expect(isReportShaped(report.markdown)).toBe(true);
    const bullets = lines.filter((line) => /^- .+ \[\d+\]$/.test(line));
    expect(bullets.length).toBeGreaterThanOrEqual(8);
    for (const bullet of bullets) {
      const sentence = bullet.replace(/^- /, "").replace(/ \[\d+\]$/, "");
      expect(flat).toContain(sentence);
      const marker = Number(/\[(\d+)\]$/.exec(bullet)?.[1]);
      expect(report.citations.find((citation) => citation.marker === marker)?.quote).toBe(sentence);
    }
    expect(report.generatedBy).toBe("extractive");
  });

  it("is deterministic and focuses on the topic", async () => {
    // Prepare
    const { material } = await corpus("water-cycle");

    // Act
    const first = buildReportOffline(material, "groundwater and aquifers");
    const second = buildReportOffline(material, "groundwater and aquifers");

    // Assess
    expect(second).toEqual(first);
    expect(first.markdown.startsWith("# groundwater and aquifers\n")).toBe(true);
    const overview = first.markdown.split("## Overview")[1]?.split("\n## ")[0] ?? "";
    expect(overview.toLowerCase()).toMatch(/aquifer|groundwater/);
  });
});

describe("report with a model", () => {
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

  it("answers the model's report when it has headings and bullets, citing the passages it used", async () => {
    // Prepare
    const { material } = await corpus("photosynthesis");
    stub.setBehaviour({
      tokens: [
        "# Photosynthesis\n\n## Stages\n\n",
        "- Light reactions make ATP [1]\n",
        "- The Calvin cycle builds sugar [2]\n",
      ],
    });

    // Act
    const report = await generateReport({ model }, material, "photosynthesis");

    // Assess
    expect(report.generatedBy).toBe("model");
    expect(report.markdown).toContain("## Stages");
    expect(report.citations.map((citation) => citation.marker)).toEqual([1, 2]);
  });

  it("falls back to the extractive report when the model's answer is not a report", async () => {
    // Prepare
    const { material } = await corpus("photosynthesis");
    stub.setBehaviour({ tokens: ["Photosynthesis is great. Would you like to know more?"] });

    // Act
    const report = await generateReport({ model }, material, "");

    // Assess
    expect(report).toEqual(buildReportOffline(material, ""));
  });
});
