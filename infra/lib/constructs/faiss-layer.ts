// The faiss-node layer: `nodejs/node_modules/faiss-node` (the native addon) and `lib/` (its shared
// libraries; Lambda puts /opt/lib on LD_LIBRARY_PATH). Built by layers/faiss/build-layer.mjs for
// exactly one architecture, which is recorded on the layer so a mismatched function cannot attach it.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { RemovalPolicy } from "aws-cdk-lib";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { Construct } from "constructs";
import { FUNCTION_RUNTIME } from "./collabry-function.ts";

export interface FaissLayerProps {
  /** Directory holding `nodejs/node_modules/faiss-node` (default: layers/faiss/out). */
  readonly directory: string;
  readonly architecture: lambda.Architecture;
  /** Old layer versions stay usable by functions still pointing at them unless told otherwise. */
  readonly removalPolicy?: RemovalPolicy;
}

export class FaissLayer extends Construct {
  readonly layer: lambda.LayerVersion;
  readonly architecture: lambda.Architecture;

  constructor(scope: Construct, id: string, props: FaissLayerProps) {
    super(scope, id);
    const moduleDir = join(props.directory, "nodejs", "node_modules", "faiss-node");
    if (!existsSync(moduleDir)) {
      throw new Error(
        `faiss layer not built: ${moduleDir} is missing. Run \`node layers/faiss/build-layer.mjs --arch ${props.architecture.name}\` ` +
          "(see layers/faiss/README.md) or pass -c faissLayerDir=<dir>.",
      );
    }
    this.architecture = props.architecture;
    this.layer = new lambda.LayerVersion(this, "Layer", {
      code: lambda.Code.fromAsset(props.directory),
      compatibleArchitectures: [props.architecture],
      compatibleRuntimes: [FUNCTION_RUNTIME],
      description: `faiss-node native module and its shared libraries (${props.architecture.name})`,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }

  /** Attaches the layer, refusing a function of another architecture (a native module cannot load there). */
  attachTo(fn: lambda.Function): void {
    if (fn.architecture.name !== this.architecture.name) {
      throw new Error(
        `${fn.node.path} is ${fn.architecture.name} but the faiss layer is built for ${this.architecture.name}`,
      );
    }
    fn.addLayers(this.layer);
  }
}
