// On-call view of the engine: one dashboard and the alarms that page (through one SNS topic).
// Application metrics are the EMF metrics the functions emit (namespace CollabryAI, dimension
// `service` = the feature name, set through POWERTOOLS_SERVICE_NAME).
import { Duration, Stack, type StackProps, Validations } from "aws-cdk-lib";
import type * as apigw from "aws-cdk-lib/aws-apigateway";
import type * as autoscaling from "aws-cdk-lib/aws-autoscaling";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import type * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import type { DeployConfig } from "../config.ts";
import { GPU_HOST_NAMESPACE } from "../constructs/ollama-host.ts";
import { METRICS_NAMESPACE } from "./api-stack.ts";

export interface MonitoredFeature {
  readonly feature: string;
  readonly usesModel: boolean;
  readonly functions: readonly lambda.IFunction[];
}

export interface MonitoringStackProps extends StackProps {
  readonly config: DeployConfig;
  readonly api: apigw.RestApi;
  readonly features: readonly MonitoredFeature[];
  readonly authorizerFunction: lambda.IFunction;
  readonly ingestWorker?: lambda.IFunction;
  /** Must have a dead-letter queue: an ingestion queue without one would hide poison messages. */
  readonly ingestQueue: sqs.Queue;
  readonly ollama?: {
    readonly targetGroup: elbv2.ApplicationTargetGroup;
    readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  };
  /** Thresholds; defaults follow the on-call runbook in infra/README.md. */
  readonly thresholds?: Partial<AlarmThresholds>;
}

export interface AlarmThresholds {
  /** Percent of requests answered 5xx (over at least minRequestsForErrorRate requests). */
  serverErrorRatePercent: number;
  minRequestsForErrorRate: number;
  /** p95 of RequestLatency per feature, milliseconds. */
  p95LatencyMs: number;
}

const DEFAULT_THRESHOLDS: AlarmThresholds = {
  serverErrorRatePercent: 1,
  minRequestsForErrorRate: 20,
  p95LatencyMs: 5_000,
};

/** CloudWatch allows at most 10 metrics in an alarm's math expression. */
const MAX_ALARM_METRICS = 10;
const FIVE_MINUTES = Duration.minutes(5);

export class MonitoringStack extends Stack {
  readonly alarmTopic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringStackProps) {
    super(scope, id, props);
    const { config, api } = props;
    const thresholds = { ...DEFAULT_THRESHOLDS, ...props.thresholds };
    const dlq = props.ingestQueue.deadLetterQueue?.queue;
    if (!dlq) throw new Error("the ingestion queue has no dead-letter queue: refusing to monitor it");

    this.alarmTopic = new sns.Topic(this, "AlarmTopic", {
      displayName: `Collabry ${config.stage} alarms`,
      enforceSSL: true,
    });
    Validations.of(this.alarmTopic).acknowledge({
      id: "AwsSolutions-SNS2",
      reason:
        "Alarm notifications carry alarm names and metric values only; CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key, and a customer key costs more than the data is worth.",
    });
    if (config.alarmEmail) this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(config.alarmEmail));

    const services = props.features.map(({ feature }) => feature);
    const modelServices = props.features.filter(({ usesModel }) => usesModel).map(({ feature }) => feature);
    const allServices = props.ingestWorker ? [...services, "ingest"] : services;

    // ----- alarms -----
    const requests = api.metricCount({ period: FIVE_MINUTES, statistic: "Sum" });
    const serverErrors = api.metricServerError({ period: FIVE_MINUTES, statistic: "Sum" });
    this.alarm(
      "Api5xxRate",
      new cloudwatch.MathExpression({
        // Below a minimum volume one failed request is not a rate worth waking someone for.
        expression: `IF(requests >= ${thresholds.minRequestsForErrorRate}, 100 * errors / requests, 0)`,
        usingMetrics: { requests, errors: serverErrors },
        label: "5xx rate (%)",
        period: FIVE_MINUTES,
      }),
      {
        threshold: thresholds.serverErrorRatePercent,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        description: `More than ${thresholds.serverErrorRatePercent} % of API requests answered 5xx.`,
      },
    );
    for (const service of services) {
      this.alarm(`P95Latency${pascal(service)}`, emf("RequestLatency", service, "p95"), {
        threshold: thresholds.p95LatencyMs,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        description: `p95 request latency of ${service} above ${thresholds.p95LatencyMs} ms.`,
      });
    }
    this.alarm(
      "IngestDeadLetters",
      dlq.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, statistic: "Maximum" }),
      {
        threshold: 0,
        evaluationPeriods: 1,
        description: "Documents failed ingestion repeatedly and wait in the dead-letter queue.",
      },
    );
    this.alarm(
      "IngestQueueAge",
      props.ingestQueue.metricApproximateAgeOfOldestMessage({ period: FIVE_MINUTES, statistic: "Maximum" }),
      {
        threshold: config.ingest.maxQueueAgeSeconds,
        evaluationPeriods: 2,
        description: `An upload has waited more than ${config.ingest.maxQueueAgeSeconds} s for ingestion.`,
      },
    );
    sumInChunks(allServices.map((service) => emf("MongoConnectionErrors", service, "Sum"))).forEach(
      (expression, index) => {
        this.alarm(`MongoConnectionErrors${index === 0 ? "" : index + 1}`, expression, {
          threshold: 0,
          evaluationPeriods: 1,
          description: "Functions failed to connect to MongoDB.",
        });
      },
    );
    this.alarm(
      "AuthorizerErrors",
      new cloudwatch.MathExpression({
        expression: "FILL(reported, 0) + FILL(crashed, 0)",
        usingMetrics: {
          reported: emf("AuthorizerErrors", "authorizer", "Sum"),
          crashed: props.authorizerFunction.metricErrors({ period: FIVE_MINUTES, statistic: "Sum" }),
        },
        label: "Authorizer errors",
        period: FIVE_MINUTES,
      }),
      {
        threshold: 0,
        evaluationPeriods: 1,
        description: "The JWT authorizer failed (not a rejected token): every protected route answers 500.",
      },
    );
    if (props.ollama) {
      const metrics = props.ollama.targetGroup.metrics;
      this.alarm(
        "OllamaUnhealthyHosts",
        metrics.unhealthyHostCount({ period: Duration.minutes(1), statistic: "Maximum" }),
        {
          threshold: 0,
          evaluationPeriods: 3,
          description: "The Ollama host fails its /api/tags health check; answers fall back to the offline engine.",
        },
      );
      this.alarm(
        "OllamaNoHealthyHost",
        metrics.healthyHostCount({ period: Duration.minutes(1), statistic: "Minimum" }),
        {
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          evaluationPeriods: 5,
          // No data means no host registered at all: that is the outage this alarm exists for.
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
          description: "No healthy Ollama host for 5 minutes (expected for ~25 minutes after the first deploy).",
        },
      );
    }

    // ----- dashboard -----
    this.dashboard = new cloudwatch.Dashboard(this, "Dashboard", {
      dashboardName: `Collabry-${config.stage}`,
      defaultInterval: Duration.hours(3),
    });
    const byService = (metric: string, statistic: string, list: readonly string[]) =>
      list.map((service) => emf(metric, service, statistic, `${service} ${statistic}`));
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "API requests and errors",
        left: [requests, api.metricClientError({ period: FIVE_MINUTES, statistic: "Sum" }), serverErrors],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: "Lambda errors and throttles",
        left: props.features.flatMap(({ functions }) =>
          functions.map((fn) => fn.metricErrors({ period: FIVE_MINUTES, statistic: "Sum" })),
        ),
        right: props.features.flatMap(({ functions }) =>
          functions.map((fn) => fn.metricThrottles({ period: FIVE_MINUTES, statistic: "Sum" })),
        ),
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      ...(["p50", "p95", "p99"] as const).map(
        (statistic) =>
          new cloudwatch.GraphWidget({
            title: `Request latency ${statistic} by feature (ms)`,
            left: byService("RequestLatency", statistic, services),
            width: 8,
          }),
      ),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Time to first token (ms)",
        left: byService("TimeToFirstToken", "p50", modelServices),
        right: byService("TimeToFirstToken", "p95", modelServices),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: "Model tokens in / out",
        left: byService("ModelTokensIn", "Sum", modelServices),
        right: byService("ModelTokensOut", "Sum", modelServices),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: "Model errors and offline fallbacks",
        left: byService("ModelErrors", "Sum", modelServices),
        right: byService("OfflineFallbacks", "Sum", modelServices),
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Ingestion",
        left: [emf("IngestionDuration", "ingest", "p50"), emf("IngestionDuration", "ingest", "p95")],
        right: [emf("IngestionChunks", "ingest", "Sum"), emf("IngestionFailures", "ingest", "Sum")],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: "Ingestion queue",
        left: [
          props.ingestQueue.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, label: "queue depth" }),
          dlq.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, label: "DLQ depth" }),
        ],
        right: [props.ingestQueue.metricApproximateAgeOfOldestMessage({ period: FIVE_MINUTES, label: "oldest (s)" })],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: "MongoDB, quotas, authorizer",
        left: byService("MongoConnectionErrors", "Sum", allServices),
        right: [...byService("QuotaRejections", "Sum", services), emf("AuthorizerErrors", "authorizer", "Sum")],
        width: 8,
      }),
    );
    if (props.ollama) {
      const asgName = props.ollama.autoScalingGroup.autoScalingGroupName;
      const gpu = (metric: string, label: string) =>
        new cloudwatch.Metric({
          namespace: GPU_HOST_NAMESPACE,
          metricName: metric,
          dimensionsMap: { AutoScalingGroupName: asgName },
          statistic: "Average",
          period: Duration.minutes(1),
          label,
        });
      const metrics = props.ollama.targetGroup.metrics;
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: "Ollama health",
          left: [
            metrics.healthyHostCount({ period: Duration.minutes(1), statistic: "Minimum" }),
            metrics.unhealthyHostCount({ period: Duration.minutes(1), statistic: "Maximum" }),
          ],
          right: [metrics.targetResponseTime({ period: FIVE_MINUTES, statistic: "p95" })],
          width: 12,
        }),
        new cloudwatch.GraphWidget({
          title: "GPU",
          left: [
            gpu("nvidia_smi_utilization_gpu", "GPU utilization %"),
            gpu("nvidia_smi_utilization_memory", "GPU memory utilization %"),
          ],
          right: [gpu("nvidia_smi_memory_used", "GPU memory used (MiB)")],
          width: 12,
        }),
      );
    }
    this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: "Alarms", alarms: this.alarms, width: 24 }));
  }

  private alarm(
    id: string,
    metric: cloudwatch.Metric | cloudwatch.MathExpression,
    options: Omit<cloudwatch.CreateAlarmOptions, "alarmName"> & { description: string },
  ): cloudwatch.Alarm {
    const { description, ...rest } = options;
    const alarm = metric.createAlarm(this, id, {
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
      ...rest,
    });
    alarm.addAlarmAction(new actions.SnsAction(this.alarmTopic));
    alarm.addOkAction(new actions.SnsAction(this.alarmTopic));
    this.alarms.push(alarm);
    return alarm;
  }
}

/** An EMF metric of one service (feature) in the CollabryAI namespace. */
function emf(metricName: string, service: string, statistic: string, label?: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service },
    statistic,
    period: FIVE_MINUTES,
    label: label ?? `${service} ${metricName}`,
  });
}

/** Sums metrics (missing data as 0) in expressions of at most MAX_ALARM_METRICS metrics each. */
function sumInChunks(metrics: readonly cloudwatch.Metric[]): cloudwatch.MathExpression[] {
  const expressions: cloudwatch.MathExpression[] = [];
  for (let start = 0; start < metrics.length; start += MAX_ALARM_METRICS) {
    const chunk = metrics.slice(start, start + MAX_ALARM_METRICS);
    const usingMetrics = Object.fromEntries(chunk.map((metric, index) => [`m${index}`, metric]));
    expressions.push(
      new cloudwatch.MathExpression({
        expression: Object.keys(usingMetrics)
          .map((name) => `FILL(${name}, 0)`)
          .join(" + "),
        usingMetrics,
        period: FIVE_MINUTES,
        label: chunk.map((metric) => metric.label).join(", "),
      }),
    );
  }
  return expressions;
}

function pascal(name: string): string {
  return name
    .split(/[-_]/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");
}
