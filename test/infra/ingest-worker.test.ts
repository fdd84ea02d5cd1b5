// The ingestion worker's OCR files: tesseract.js, its wasm core, the English data and the canvas
// addon are installed beside the bundle, the canvas binary for the Lambda's architecture. The full
// synth (synth.test.ts) checks the installed files of an x86_64 worker.
import * as lambda from "aws-cdk-lib/aws-lambda";
import { describe, expect, it } from "vitest";
import { canvasBinaryPackage, OCR_NODE_MODULES, ocrBundling } from "../../infra/lib/constructs/ingest-worker.ts";

describe("ingestion worker bundling", () => {
  it("installs OCR's runtime files beside the bundle", () => {
    // Act
    const bundling = ocrBundling(lambda.Architecture.X86_64);

    // Assess
    expect(bundling.nodeModules).toEqual(OCR_NODE_MODULES);
    expect(OCR_NODE_MODULES).toEqual(
      expect.arrayContaining(["tesseract.js", "tesseract.js-core", "@tesseract.js-data/eng", "@napi-rs/canvas"]),
    );
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
    const commands = ocrBundling(lambda.Architecture.ARM_64).commandHooks?.afterBundling("/in", "/out") ?? [];

    // Assess
    const { version } = canvasBinaryPackage(lambda.Architecture.ARM_64);
    expect(commands.join("\n")).toContain(
      `npm pack --silent --pack-destination "/out" @napi-rs/canvas-linux-arm64-gnu@${version}`,
    );
    expect(commands.join("\n")).toContain('-C "/out/node_modules/@napi-rs/canvas-linux-arm64-gnu"');
  });
});
