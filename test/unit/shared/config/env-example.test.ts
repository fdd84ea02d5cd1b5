import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { configSchema } from "#shared/config/config.ts";

describe(".env.example", () => {
  it("documents every variable of the configuration schema, and nothing else", async () => {
    // Prepare
    const text = await readFile(".env.example", "utf8");

    // Act
    const documented = new Set([...text.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((match) => match[1]));
    const known = Object.keys(configSchema.shape);

    // Assess
    expect(known.filter((name) => !documented.has(name))).toEqual([]);
    expect([...documented].filter((name) => name !== undefined && !known.includes(name))).toEqual([]);
  });
});
