// Every cdk-nag (AwsSolutions) finding we accept, each on the one resource it concerns and with the
// reason written down. test/infra/nag.test.ts fails on any finding not listed here; acknowledging a
// rule app-wide or stack-wide is deliberately not possible through this file.
import { Validations } from "aws-cdk-lib";
import type { IConstruct } from "constructs";
import type { CollabryStacks } from "./collabry-app.ts";
import type { CollabryFunction } from "./constructs/collabry-function.ts";
import type { FeatureProfile } from "./features.ts";

type BucketAccess = FeatureProfile["bucket"];

import { dataBucketName } from "./stacks/stateful-stack.ts";

const MANAGED = "Policy::arn:<AWS::Partition>:iam::aws:policy";

function acknowledge(construct: IConstruct | undefined, id: string, reason: string): void {
  if (!construct) throw new Error(`cannot acknowledge ${id}: construct not found`);
  Validations.of(construct).acknowledge({ id, reason });
}

function acknowledgeFunction(fn: CollabryFunction, bucketAccess: BucketAccess, bucketObjects: string): void {
  acknowledge(
    fn.node.defaultChild,
    "AwsSolutions-L1",
    "Node.js 22 is pinned on purpose: the faiss-node layer is compiled for the Node 22 ABI (nodejs:22 build image); move runtime and layer together.",
  );
  const role = fn.role?.node.defaultChild;
  acknowledge(
    role,
    `AwsSolutions-IAM4[${MANAGED}/service-role/AWSLambdaBasicExecutionRole]`,
    "AWS-maintained minimal policy that lets the function write its own CloudWatch logs.",
  );
  if (fn.isBoundToVpc) {
    acknowledge(
      role,
      `AwsSolutions-IAM4[${MANAGED}/service-role/AWSLambdaVPCAccessExecutionRole]`,
      "AWS-maintained policy Lambda needs to manage the ENIs of a VPC function (model callers reach Ollama in the VPC).",
    );
  }
  const policy = fn.role?.node.tryFindChild("DefaultPolicy")?.node.defaultChild;
  if (!policy) return;
  acknowledge(
    policy,
    "AwsSolutions-IAM5[Resource::*]",
    "X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions (active tracing).",
  );
  if (bucketAccess === "none") return;
  const bucketReason =
    "Object-level access to this stage's data bucket only: keys are per user (uploads/{userId}/…, indexes/{userId}/…) and the user scoping is enforced by the verified user id in code.";
  const findings = ["Action::s3:GetBucket*", "Action::s3:GetObject*", "Action::s3:List*", `Resource::${bucketObjects}`];
  if (bucketAccess === "readWrite") findings.push("Action::s3:DeleteObject*", "Action::s3:Abort*");
  for (const finding of findings) {
    acknowledge(policy, `AwsSolutions-IAM5[${finding}]`, bucketReason);
  }
}

function acknowledgeApi(stacks: CollabryStacks): void {
  const { featureApi } = stacks.api;
  const api = featureApi.api;
  acknowledge(
    api.node.defaultChild,
    "AwsSolutions-APIG2",
    "Bodies are validated in each function by the zod schemas that also generate the OpenAPI document; API Gateway models would be a second, drifting copy.",
  );
  acknowledge(
    api.deploymentStage.node.defaultChild,
    "AwsSolutions-APIG3",
    "No WAF in the default configuration (cost): the JWT authorizer, stage and per-route throttling and per-user quotas bound abuse. Associate a web ACL per stage if needed (infra/README.md).",
  );
  acknowledge(
    api.node.tryFindChild("CloudWatchRole")?.node.defaultChild,
    `AwsSolutions-IAM4[${MANAGED}/service-role/AmazonAPIGatewayPushToCloudWatchLogs]`,
    "AWS-maintained policy of the account-level role API Gateway uses to write access and execution logs.",
  );
  for (const [key, { method, route }] of featureApi.methods) {
    const cfn = method.node.defaultChild;
    if (route.access === "public") {
      acknowledge(cfn, "AwsSolutions-APIG4", `${key} is public by contract (service info, health, API docs).`);
      acknowledge(cfn, "AwsSolutions-COG4", `${key} is public by contract (service info, health, API docs).`);
    } else {
      acknowledge(
        cfn,
        "AwsSolutions-COG4",
        `${key} is authorized by the Lambda TOKEN authorizer verifying the HS256 JWTs issued by the Collabry backend; there is no Cognito user pool.`,
      );
    }
  }
}

/** Acknowledges the accepted findings of every stack; see the reasons inline. */
export function acknowledgeNagFindings(stacks: CollabryStacks): void {
  const { config } = stacks;
  const bucketObjects = `arn:<AWS::Partition>:s3:::${dataBucketName(config).replace(/\$\{Token\[AWS\.AccountId\.\d+\]\}/, "<AWS::AccountId>")}/*`;
  for (const fn of stacks.api.allFunctions) {
    acknowledgeFunction(fn, stacks.api.bucketAccess.get(fn) ?? "none", bucketObjects);
  }
  acknowledgeApi(stacks);

  // The CDK-managed singleton Lambda that configures the bucket's event notifications.
  acknowledge(
    stacks.stateful.node
      .tryFindChild("BucketNotificationsHandler050a0587b7544547bf325f094a3db834")
      ?.node.tryFindChild("Role")?.node.defaultChild,
    `AwsSolutions-IAM4[${MANAGED}/service-role/AWSLambdaBasicExecutionRole]`,
    "CDK-managed custom resource that writes the bucket notification configuration; logging policy only.",
  );

  if (stacks.modelHost) {
    const host = stacks.modelHost.host;
    const hostRole = host.node.tryFindChild("HostRole")?.node.defaultChild;
    acknowledge(
      hostRole,
      `AwsSolutions-IAM4[${MANAGED}/AmazonSSMManagedInstanceCore]`,
      "SSM Session Manager is the only operator access to the GPU host (no SSH key, no open port); AWS maintains this policy.",
    );
    acknowledge(
      hostRole,
      `AwsSolutions-IAM4[${MANAGED}/CloudWatchAgentServerPolicy]`,
      "The CloudWatch agent publishes the GPU/memory/disk metrics of the host; AWS maintains this policy.",
    );
    acknowledge(
      host.autoScalingGroup.node.defaultChild,
      "AwsSolutions-AS3",
      "A group of exactly one instance: a replacement shows as the Ollama health alarms (unhealthy / no healthy host), which page through the alarm topic.",
    );
    acknowledge(
      host.loadBalancer.node.defaultChild,
      "AwsSolutions-ELB2",
      "Internal load balancer in front of one Ollama host, reachable only from the functions' security group; the functions log every model call with its request id, and target health is alarmed.",
    );
  }
}
