import { App, Stack, Stage, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { beforeAll, describe, expect, it } from "vitest";
import { featureRoutes } from "#functions/index.ts";
import { buildCollabryApp } from "../../infra/lib/collabry-app.ts";
import { mergeConfig, parseDeployConfig } from "../../infra/lib/config.ts";
import { baseConfig, cdkJsonContext, externalLlm, placeholderLayerDir, stubProjectRoot } from "./support.ts";

function buildApp(overrides: Record<string, unknown>): App {
  // Built-in CloudFormation schema validation runs in synth.test.ts; here only cdk-nag is under test.
  const app = new App({
    context: { ...cdkJsonContext(), "aws:cdk:bundling-stacks": [] },
    builtinCloudFormationValidation: false,
  });
  buildCollabryApp(app, {
    config: parseDeployConfig(mergeConfig({ ...baseConfig }, overrides)),
    featureRoutes,
    projectRoot: stubProjectRoot(featureRoutes, { worker: true }),
    faissLayerDir: placeholderLayerDir(),
  });
  return app;
}

function allConstructs(root: IConstruct): IConstruct[] {
  return [root, ...root.node.children.flatMap((child) => allConstructs(child))];
}

describe.each([
  ["Ollama GPU host", {}],
  ["external model endpoint, ephemeral stage", { ...externalLlm, ephemeral: true }],
])("cdk-nag AwsSolutions checks (%s)", (_name, overrides) => {
  let app: App;

  beforeAll(() => {
    // Prepare
    app = buildApp(overrides);
  });

  it("reports no finding without an acknowledgement", () => {
    // Act
    const report = new AwsSolutionsChecks(app).validateScope(app);
    const findings = report.violations.flatMap((violation) =>
      violation.violatingResources.map((resource) => `${violation.ruleName} @ ${resource.constructPath}`),
    );

    // Assess
    expect(findings).toEqual([]);
    expect(report.success).toBe(true);
  });

  it("acknowledges findings only on resources, each with a written reason", () => {
    // Act
    const acknowledgements = allConstructs(app).flatMap((construct) =>
      construct.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) =>
          Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({ construct, id, reason })),
        ),
    );

    // Assess: ours are the AwsSolutions ones (aws-cdk-lib acknowledges some of its own template checks)
    const nag = acknowledgements.filter(({ id }) => /AwsSolutions-/.test(id));
    expect(nag.length).toBeGreaterThan(0);
    for (const { construct, id, reason } of nag) {
      const where = `${id} @ ${construct.node.path}`;
      expect(Stack.isStack(construct) || Stage.isStage(construct), where).toBe(false);
      expect(reason.length, where).toBeGreaterThanOrEqual(40);
    }
  });

  it("synthesizes with the plugin registered the way infra/bin/app.ts does", () => {
    // Prepare
    const withPlugin = buildApp(overrides);
    Validations.of(withPlugin).addPlugins(new AwsSolutionsChecks(withPlugin));

    // Act
    const synth = () => withPlugin.synth();

    // Assess
    expect(synth).not.toThrow();
  });
});
