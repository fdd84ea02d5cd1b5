// Engine metrics as CloudWatch EMF (Powertools), namespace CollabryAI. Each data point is written
// as its own EMF line so concurrent requests in one process never share a buffer.
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";

export type EngineMetricName =
  | "RequestLatency"
  | "TimeToFirstToken"
  | "ModelTokensIn"
  | "ModelTokensOut"
  | "ModelErrors"
  | "OfflineFallbacks"
  | "CircuitOpen"
  | "RateLimited"
  | "Http5xx"
  | "Http4xx"
  | "IngestionDuration"
  | "IngestionChunks"
  | "IngestionFailures";

const UNITS: Record<EngineMetricName, Parameters<Metrics["addMetric"]>[1]> = {
  RequestLatency: MetricUnit.Milliseconds,
  TimeToFirstToken: MetricUnit.Milliseconds,
  ModelTokensIn: MetricUnit.Count,
  ModelTokensOut: MetricUnit.Count,
  ModelErrors: MetricUnit.Count,
  OfflineFallbacks: MetricUnit.Count,
  CircuitOpen: MetricUnit.Count,
  RateLimited: MetricUnit.Count,
  Http5xx: MetricUnit.Count,
  Http4xx: MetricUnit.Count,
  IngestionDuration: MetricUnit.Milliseconds,
  IngestionChunks: MetricUnit.Count,
  IngestionFailures: MetricUnit.Count,
};

export interface EngineMetrics {
  record(name: EngineMetricName, value: number): void;
}

/** EMF metrics in AWS; a no-op locally, where CloudWatch would never read them. */
export function createMetrics(options: { service: string; enabled: boolean }): EngineMetrics {
  if (!options.enabled) return { record: () => {} };
  const metrics = new Metrics({ namespace: "CollabryAI", serviceName: options.service });
  return {
    record(name, value) {
      if (!Number.isFinite(value)) return;
      const single = metrics.singleMetric();
      single.addMetric(name, UNITS[name], value);
    },
  };
}
