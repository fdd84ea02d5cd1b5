import { existsSync } from "node:fs";
import { join } from "node:path";
import { App, Stack } from "aws-cdk-lib";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { featureRoutes } from "#functions/index.ts";
import { CollabryFunction } from "../../infra/lib/constructs/collabry-function.ts";
import { FaissLayer } from "../../infra/lib/constructs/faiss-layer.ts";
import { placeholderLayerDir, resourcesOf, type SynthResult, stubProjectRoot, synthCollabry } from "./support.ts";

/** Functions that reference the faiss layer, with their architectures and the layer's. */
function layerUsers(result: SynthResult) {
  const layers = resourcesOf(result.api, "AWS::Lambda::LayerVersion");
  const [layerId, layer] = layers[0] ?? ["", {}];
  const users = resourcesOf(result.api, "AWS::Lambda::Function").filter(([, fn]) =>
    JSON.stringify(fn.Properties?.Layers ?? []).includes(`"${layerId}"`),
  );
  return { layers, layer, users };
}

describe("faiss layer", () => {
  let x86: SynthResult;
  let arm: SynthResult;

  beforeAll(() => {
    // Prepare
    x86 = synthCollabry({ featureRoutes });
    arm = synthCollabry({ featureRoutes, config: { architecture: "arm64" } });
  });

  it("is attached to the worker and the retrieval features, each of the layer's architecture", () => {
    for (const [result, architecture] of [
      [x86, "x86_64"],
      [arm, "arm64"],
    ] as const) {
      // Act
      const { layers, layer, users } = layerUsers(result);

      // Assess
      expect(layers).toHaveLength(1);
      expect(layer.Properties?.CompatibleArchitectures).toEqual([architecture]);
      expect(layer.Properties?.CompatibleRuntimes).toEqual(["nodejs22.x"]);
      // every function of a feature that loads indexes, plus the ingestion worker
      const expected = result.stacks.api.features
        .filter(({ profile }) => profile.usesVectorIndex)
        .flatMap(({ buffered, streaming }) => [buffered, streaming])
        .filter((fn) => fn !== undefined).length;
      expect(users).toHaveLength(expected + 1);
      expect(expected).toBeGreaterThan(0);
      for (const [id, fn] of users) expect(fn.Properties?.Architectures, id).toEqual([architecture]);
    }
  });

  it("is not attached to functions that never load an index", () => {
    // Act
    const { users } = layerUsers(x86);
    const meta = x86.stacks.api.features.find(({ feature }) => feature === "meta")?.buffered;

    // Assess
    expect(users.map(([id]) => id).some((id) => id.startsWith("MetaFunction"))).toBe(false);
    expect(meta).toBeDefined();
  });

  it("refuses a function of another architecture", () => {
    // Prepare
    const stack = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "LayerGuard");
    const layer = new FaissLayer(stack, "Faiss", {
      directory: placeholderLayerDir(),
      architecture: lambda.Architecture.X86_64,
    });
    const root = stubProjectRoot([{ feature: "qa", routes: [] }], { worker: false });
    const fn = new CollabryFunction(stack, "Arm", {
      entry: join(root, "functions/qa/handler.ts"),
      depsLockFilePath: join(root, "package-lock.json"),
      projectRoot: root,
      architecture: lambda.Architecture.ARM_64,
    });

    // Act
    const attach = () => layer.attachTo(fn);

    // Assess
    expect(attach).toThrow(/arm64 but the faiss layer is built for x86_64/);
  });

  it("explains how to build the layer when its directory is missing", () => {
    // Prepare
    const stack = new Stack(new App(), "LayerMissing");
    const missing = join(placeholderLayerDir(), "nowhere");

    // Act
    const create = () =>
      new FaissLayer(stack, "Faiss", { directory: missing, architecture: lambda.Architecture.X86_64 });

    // Assess
    expect(existsSync(missing)).toBe(false);
    expect(create).toThrow(/build-layer\.mjs --arch x86_64/);
  });
});
