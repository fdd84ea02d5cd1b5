import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { featureRoutes } from "#functions/index.ts";
import { DeployConfigError, loadDeployConfig, parseDeployConfig } from "../../infra/lib/config.ts";
import { baseConfig, repoRoot, synthCollabry } from "./support.ts";

const configDir = join(repoRoot, "infra/bin/config");

function problemsOf(input: unknown): string[] {
  try {
    parseDeployConfig(input);
  } catch (error) {
    if (error instanceof DeployConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe("deploy configuration", () => {
  it("parses every committed stage file", () => {
    // Prepare
    const stages = readdirSync(configDir)
      .filter((file) => file.endsWith(".json"))
      .map((file) => file.replace(/\.json$/, ""));

    // Act
    const configs = stages.map((stage) => loadDeployConfig({ stage, configDir }));

    // Assess
    expect(stages).toEqual(expect.arrayContaining(["dev", "prod"]));
    for (const config of configs) expect(config.corsOrigins.length).toBeGreaterThan(0);
    expect(configs.find(({ stage }) => stage === "prod")?.ephemeral).toBe(false);
  });

  it("fills defaults: a g5.xlarge Ollama host, 30-day logs, x86_64, stage throttling", () => {
    // Act
    const config = parseDeployConfig(baseConfig);

    // Assess
    expect(config.llm).toMatchObject({
      mode: "ollama",
      instanceType: "g5.xlarge",
      embeddingsModel: "nomic-embed-text",
    });
    expect(config).toMatchObject({ logRetentionDays: 30, architecture: "x86_64", ephemeral: false });
    expect(config.throttling.stage).toEqual({ rateLimit: 50, burstLimit: 100 });
  });

  it("names every invalid field at once", () => {
    // Act
    const problems = problemsOf({
      stage: "Prod!",
      region: "moon-1",
      corsOrigins: ["https://app.example.com/path"],
      llm: { mode: "ollama", instanceType: "t3.micro" },
      logRetentionDays: 31,
    });

    // Assess
    for (const field of ["stage", "region", "corsOrigins.0", "llm.instanceType", "logRetentionDays"]) {
      expect(
        problems.some((problem) => problem.startsWith(`${field}:`)),
        field,
      ).toBe(true);
    }
  });

  it("requires an https endpoint and both models for an external LLM", () => {
    // Act
    const problems = problemsOf({ ...baseConfig, llm: { mode: "external", baseUrl: "http://insecure.example" } });

    // Assess
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^llm\.baseUrl:/),
        expect.stringMatching(/^llm\.chatModel:/),
        expect.stringMatching(/^llm\.embeddingsModel:/),
      ]),
    );
  });

  it("layers context overrides over the stage file, and the stage name always wins", () => {
    // Act
    const config = loadDeployConfig({
      stage: "dev",
      configDir,
      contextOverrides: {
        stage: "other",
        alarmEmail: "me@example.com",
        throttling: { stage: { rateLimit: 7, burstLimit: 9 } },
      },
    });

    // Assess
    expect(config.stage).toBe("dev");
    expect(config.alarmEmail).toBe("me@example.com");
    expect(config.throttling.stage).toEqual({ rateLimit: 7, burstLimit: 9 });
    expect(config.throttling.streaming.rateLimit).toBeGreaterThan(0);
  });

  it("fails clearly for a stage with neither file nor context", () => {
    // Act
    const load = () => loadDeployConfig({ stage: "nosuchstage", configDir });

    // Assess
    expect(load).toThrow(/no configuration for stage "nosuchstage"/);
  });

  it("rejects a per-route throttle for a route that does not exist", () => {
    // Act
    const synth = () =>
      synthCollabry({
        featureRoutes,
        config: { throttling: { routes: { "POST /ai/nowhere": { rateLimit: 1, burstLimit: 1 } } } },
      });

    // Assess
    expect(synth).toThrow(/POST \/ai\/nowhere/);
  });
});
