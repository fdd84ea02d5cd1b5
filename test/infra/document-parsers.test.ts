// The document parsers are installed beside the bundles of the functions that parse files or web
// pages (NodejsFunction nodeModules), OCR's canvas binary for the Lambda's architecture. The full
// synth (synth.test.ts) checks the installed files; parsers-beside.test.ts runs a bundle against them.
import * as lambda from "aws-cdk-lib/aws-lambda";
import { describe, expect, it } from "vitest";
import {
  canvasBinaryPackage,
  DOCUMENT_PARSER_NODE_MODULES,
  HTML_READER_NODE_MODULES,
  OCR_NODE_MODULES,
  OCR_UNUSED_FILES,
  parserBundling,
  parserNodeModules,
} from "../../infra/lib/constructs/document-parsers.ts";
import { FEATURE_PROFILES } from "../../infra/lib/features.ts";

describe("document parser bundling", () => {
  it("installs every parser of uploaded files, OCR's runtime files included, where documents are parsed", () => {
    // Act
    const bundling = parserBundling("documents", lambda.Architecture.X86_64);

    // Assess
    expect(bundling.nodeModules).toEqual(DOCUMENT_PARSER_NODE_MODULES);
    expect(bundling.nodeModules).toEqual(
      expect.arrayContaining(["unpdf", "mammoth", ...HTML_READER_NODE_MODULES, ...OCR_NODE_MODULES]),
    );
    expect(OCR_NODE_MODULES).toEqual(
      expect.arrayContaining(["tesseract.js", "tesseract.js-core", "@tesseract.js-data/eng", "@napi-rs/canvas"]),
    );
    expect(bundling.commandHooks).toBeDefined();
  });

  it("removes only files OCR never reads: engines without LSTM, browser builds, other English models", () => {
    // Act
    const commands =
      parserBundling("documents", lambda.Architecture.X86_64).commandHooks?.afterBundling("/in", "/out") ?? [];

    // Assess
    const removal = commands.find((command) => command.startsWith("rm -rf")) ?? "";
    expect(removal).toContain('"/out/node_modules/tesseract.js-core/tesseract-core-simd.wasm"');
    expect(removal).toContain('"/out/node_modules/tesseract.js-core/tesseract-core-relaxedsimd-lstm.wasm.js"');
    expect(removal).toContain('"/out/node_modules/@tesseract.js-data/eng/4.0.0"');
    for (const kept of ["tesseract-core-lstm", "tesseract-core-simd-lstm", "tesseract-core-relaxedsimd-lstm"]) {
      expect(removal).not.toContain(`/${kept}.wasm"`);
      expect(removal).not.toContain(`/${kept}.js"`);
    }
    expect(OCR_UNUSED_FILES.some((file) => file.includes("_best_int"))).toBe(false);
  });

  it("installs only the web page reader where pages are added by URL, with no canvas binary to unpack", () => {
    // Act
    const bundling = parserBundling("web pages", lambda.Architecture.ARM_64);

    // Assess
    expect(bundling.nodeModules).toEqual(["linkedom", "@mozilla/readability"]);
    expect(bundling.commandHooks).toBeUndefined();
    expect(parserNodeModules(undefined)).toEqual([]);
  });

  it("gives the parsers to the file-reading features only", () => {
    // Act
    const parsing = Object.entries(FEATURE_PROFILES)
      .filter(([, profile]) => profile.parses !== undefined)
      .map(([feature, profile]) => `${feature}: ${profile.parses}`);

    // Assess
    expect(parsing.sort()).toEqual(["documents: web pages", "qa: documents", "quiz: documents"]);
  });

  it("picks the canvas binary of the function's architecture at the version canvas pins", () => {
    // Act
    const x64 = canvasBinaryPackage(lambda.Architecture.X86_64);
    const arm64 = canvasBinaryPackage(lambda.Architecture.ARM_64);

    // Assess
    expect(x64.name).toBe("@napi-rs/canvas-linux-x64-gnu");
    expect(arm64.name).toBe("@napi-rs/canvas-linux-arm64-gnu");
    expect(x64.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(arm64.version).toBe(x64.version);
  });

  it("unpacks that binary into the bundle's node_modules after the install, whatever the build host", () => {
    // Act
    const commands =
      parserBundling("documents", lambda.Architecture.ARM_64).commandHooks?.afterBundling("/in", "/out") ?? [];

    // Assess
    const { version } = canvasBinaryPackage(lambda.Architecture.ARM_64);
    expect(commands.join("\n")).toContain(
      `npm pack --silent --pack-destination "/out" @napi-rs/canvas-linux-arm64-gnu@${version}`,
    );
    expect(commands.join("\n")).toContain('-C "/out/node_modules/@napi-rs/canvas-linux-arm64-gnu"');
  });
});
