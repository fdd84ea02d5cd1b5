import { beforeAll, describe, expect, it } from "vitest";
import { featureRoutes } from "#functions/index.ts";
import { resourcesOf, type SynthResult, synthCollabry } from "./support.ts";

type AlarmProps = Record<string, unknown> & { AlarmName?: string; Threshold?: number; ComparisonOperator?: string };

describe("monitoring stack", () => {
  let result: SynthResult;
  let alarms: Map<string, AlarmProps>;

  beforeAll(() => {
    // Prepare
    result = synthCollabry({ featureRoutes });
    alarms = new Map(
      resourcesOf(result.monitoring, "AWS::CloudWatch::Alarm").map(([id, alarm]) => [
        id,
        (alarm.Properties ?? {}) as AlarmProps,
      ]),
    );
  });

  const alarm = (prefix: string): AlarmProps => {
    const found = [...alarms].find(([id]) => id.startsWith(prefix));
    if (!found) throw new Error(`no alarm ${prefix}; have ${[...alarms.keys()].join(", ")}`);
    return found[1];
  };

  it("alarms on a 5xx rate above 1 % (with a minimum request volume)", () => {
    // Act
    const api5xx = alarm("Api5xxRate");

    // Assess
    expect(api5xx.Threshold).toBe(1);
    expect(api5xx.ComparisonOperator).toBe("GreaterThanThreshold");
    expect(JSON.stringify(api5xx.Metrics)).toContain("100 * errors / requests");
    expect(JSON.stringify(api5xx.Metrics)).toContain("5XXError");
  });

  it("alarms on p95 latency above 5 s for every feature", () => {
    // Assess
    for (const { feature } of featureRoutes) {
      const latency = alarm(`P95Latency${feature.charAt(0).toUpperCase()}${feature.slice(1)}`);
      const text = JSON.stringify(latency);
      expect(latency.Threshold).toBe(5_000);
      expect(text).toContain('"Stat":"p95"');
      expect(text).toContain('"MetricName":"RequestLatency","Namespace":"CollabryAI"');
      expect(text).toContain(`{"Name":"service","Value":"${feature}"}`);
    }
  });

  it("alarms on any dead letter and on old ingestion messages", () => {
    // Assess
    expect(alarm("IngestDeadLetters")).toMatchObject({
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
      MetricName: "ApproximateNumberOfMessagesVisible",
    });
    expect(alarm("IngestQueueAge")).toMatchObject({ Threshold: 900, MetricName: "ApproximateAgeOfOldestMessage" });
  });

  it("alarms on Ollama health, MongoDB connection failures and authorizer errors", () => {
    // Assess
    expect(alarm("OllamaUnhealthyHosts")).toMatchObject({ Threshold: 0, MetricName: "UnHealthyHostCount" });
    expect(alarm("OllamaNoHealthyHost")).toMatchObject({
      Threshold: 1,
      ComparisonOperator: "LessThanThreshold",
      TreatMissingData: "breaching",
    });
    expect(JSON.stringify(alarm("MongoConnectionErrors").Metrics)).toContain("MongoConnectionErrors");
    expect(JSON.stringify(alarm("AuthorizerErrors").Metrics)).toContain("AuthorizerErrors");
  });

  it("sends every alarm and its recovery to the alarm topic, which e-mails on-call", () => {
    // Assess
    for (const [id, props] of alarms) {
      expect(JSON.stringify(props.AlarmActions), id).toContain("AlarmTopic");
      expect(JSON.stringify(props.OKActions), id).toContain("AlarmTopic");
    }
    result.monitoring.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "oncall@collabry.test",
    });
  });

  it("has a dashboard with the on-call widgets", () => {
    // Act
    const dashboards = resourcesOf(result.monitoring, "AWS::CloudWatch::Dashboard");
    const body = JSON.stringify(dashboards[0]?.[1].Properties?.DashboardBody);

    // Assess
    expect(dashboards).toHaveLength(1);
    for (const title of [
      "API requests and errors",
      "Request latency p50",
      "Request latency p95",
      "Request latency p99",
      "Time to first token",
      "Model tokens in / out",
      "offline fallbacks",
      "Ingestion queue",
      "DLQ depth",
      "Ollama health",
      "GPU",
      "MongoDB",
    ]) {
      expect(body, title).toContain(title);
    }
    expect(body).toContain("nvidia_smi_utilization_gpu");
  });
});

describe("monitoring with many features", () => {
  it("splits the MongoDB alarm so no math expression exceeds CloudWatch's 10-metric limit", () => {
    // Prepare
    const many = Array.from({ length: 12 }, (_, index) => ({
      feature: `feature${index}`,
      routes: [{ method: "GET" as const, path: `/ai/f${index}`, access: "user" as const, streaming: false }],
    }));

    // Act
    const result = synthCollabry({
      featureRoutes: many,
      config: { llm: { mode: "external", baseUrl: "https://llm.example/v1", chatModel: "m", embeddingsModel: "e" } },
    });
    const mongo = resourcesOf(result.monitoring, "AWS::CloudWatch::Alarm").filter(([id]) =>
      id.startsWith("MongoConnectionErrors"),
    );

    // Assess: 12 features + the worker = 13 metrics → 2 alarms
    expect(mongo).toHaveLength(2);
    for (const [, props] of mongo) {
      const metrics = ((props.Properties?.Metrics as Array<{ MetricStat?: unknown }> | undefined) ?? []).filter(
        (m) => m.MetricStat,
      );
      expect(metrics.length).toBeLessThanOrEqual(10);
    }
    expect(result.modelHost).toBeUndefined();
  });
});
