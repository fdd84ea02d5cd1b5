// Network and the Ollama GPU host (LLM mode "ollama" only). The functions' security group lives
// here too: the host's rules reference it, and the API stack only consumes it.
import { Duration, Stack, type StackProps } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import type { DeployConfig, OllamaConfig } from "../config.ts";
import { OllamaHost } from "../constructs/ollama-host.ts";

export interface ModelHostStackProps extends StackProps {
  readonly config: DeployConfig;
  readonly ollama: OllamaConfig;
}

export class ModelHostStack extends Stack {
  readonly vpc: ec2.Vpc;
  /** Security group of every Lambda that calls the model; the only one Ollama admits. */
  readonly functionsSecurityGroup: ec2.SecurityGroup;
  readonly host: OllamaHost;

  constructor(scope: Construct, id: string, props: ModelHostStackProps) {
    super(scope, id, props);
    const { config, ollama } = props;

    this.vpc = new ec2.Vpc(this, "Vpc", {
      maxAzs: 2,
      // One NAT gateway (not one per AZ): the functions need the internet for MongoDB Atlas, Secrets
      // Manager and web search, the host for Ollama and model downloads. A NAT outage degrades the
      // engine to its offline answers rather than taking it down; add a second for strict HA.
      natGateways: 1,
      subnetConfiguration: [
        { name: "public", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: "private", subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
      // S3 traffic (uploads, FAISS shards) bypasses the NAT gateway: free and not metered per GB.
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
      restrictDefaultSecurityGroup: true,
    });
    this.vpc.addFlowLog("FlowLogs", {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(this, "FlowLogsGroup", { retention: config.logRetentionDays }),
      ),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });

    this.functionsSecurityGroup = new ec2.SecurityGroup(this, "FunctionsSecurityGroup", {
      vpc: this.vpc,
      description: "Model-calling Lambdas (the only clients of the Ollama host)",
      // Outbound to MongoDB Atlas, AWS APIs and the Ollama load balancer.
      allowAllOutbound: true,
    });

    this.host = new OllamaHost(this, "Ollama", {
      vpc: this.vpc,
      clientSecurityGroup: this.functionsSecurityGroup,
      instanceType: ollama.instanceType,
      amiParameter: ollama.amiParameter,
      ollamaVersion: ollama.ollamaVersion,
      chatModel: ollama.chatModel,
      embeddingsModel: ollama.embeddingsModel,
      keepAlive: ollama.keepAlive,
      dataVolumeGiB: ollama.dataVolumeGiB,
      bootGracePeriod: Duration.minutes(25),
    });
  }
}
