// One GPU instance running Ollama, kept alive by an Auto Scaling group of exactly one and reached
// through an internal Application Load Balancer whose health check is Ollama's own `/api/tags`.
// No SSH key and no public address: operators use SSM Session Manager.
import { Duration, Fn } from "aws-cdk-lib";
import * as autoscaling from "aws-cdk-lib/aws-autoscaling";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import * as iam from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";

export const OLLAMA_PORT = 11434;
/** Namespace of the CloudWatch agent's host metrics (GPU, memory, disk). */
export const GPU_HOST_NAMESPACE = "CollabryAI/GpuHost";
/** Mount point of the data volume holding the models (survives an Ollama reinstall, not the instance). */
const MODELS_MOUNT = "/opt/ollama";
const DATA_DEVICE = "/dev/sdf";

export interface OllamaHostProps {
  readonly vpc: ec2.IVpc;
  /** The only security group allowed to reach Ollama (the model-calling Lambdas'). */
  readonly clientSecurityGroup: ec2.ISecurityGroup;
  readonly instanceType: string;
  readonly amiParameter: string;
  readonly ollamaVersion: string;
  readonly chatModel: string;
  readonly embeddingsModel: string;
  readonly keepAlive: string;
  readonly dataVolumeGiB: number;
  /** Time for the first boot (driver start, Ollama install, model pulls) before health checks count. */
  readonly bootGracePeriod?: Duration;
}

export class OllamaHost extends Construct {
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly hostSecurityGroup: ec2.SecurityGroup;
  readonly loadBalancerSecurityGroup: ec2.SecurityGroup;
  /** OpenAI-compatible base URL for the functions (`LLM_BASE_URL`). */
  readonly baseUrl: string;

  constructor(scope: Construct, id: string, props: OllamaHostProps) {
    super(scope, id);
    const { vpc } = props;

    // Chain of trust: functions SG → load balancer SG → host SG, each admitting port 11434 only.
    this.loadBalancerSecurityGroup = new ec2.SecurityGroup(this, "LoadBalancerSecurityGroup", {
      vpc,
      description: "Internal Ollama load balancer: 11434 from the model-calling Lambdas only",
      allowAllOutbound: false,
    });
    this.loadBalancerSecurityGroup.addIngressRule(
      props.clientSecurityGroup,
      ec2.Port.tcp(OLLAMA_PORT),
      "Ollama API from the Lambdas",
    );
    this.hostSecurityGroup = new ec2.SecurityGroup(this, "HostSecurityGroup", {
      vpc,
      description: "Ollama GPU host: 11434 from the internal load balancer only; no SSH",
      // Outbound: installing Ollama and pulling models over HTTPS through the NAT gateway.
      allowAllOutbound: true,
    });
    this.hostSecurityGroup.addIngressRule(
      this.loadBalancerSecurityGroup,
      ec2.Port.tcp(OLLAMA_PORT),
      "Ollama API from the load balancer",
    );
    this.loadBalancerSecurityGroup.addEgressRule(
      this.hostSecurityGroup,
      ec2.Port.tcp(OLLAMA_PORT),
      "Forward and health-check Ollama",
    );

    const role = new iam.Role(this, "HostRole", {
      assumedBy: new iam.ServicePrincipal("ec2.amazonaws.com"),
      description: "Ollama GPU host: SSM Session Manager and the CloudWatch agent",
      managedPolicies: [
        iam.ManagedPolicy.fromAwsManagedPolicyName("AmazonSSMManagedInstanceCore"),
        iam.ManagedPolicy.fromAwsManagedPolicyName("CloudWatchAgentServerPolicy"),
      ],
    });

    const launchTemplate = new ec2.LaunchTemplate(this, "LaunchTemplate", {
      instanceType: new ec2.InstanceType(props.instanceType),
      machineImage: ec2.MachineImage.fromSsmParameter(props.amiParameter, { os: ec2.OperatingSystemType.LINUX }),
      userData: this.userData(props),
      role,
      securityGroup: this.hostSecurityGroup,
      // IMDSv2 only (session tokens), hop limit 1: a container on the host cannot reach the role.
      requireImdsv2: true,
      httpPutResponseHopLimit: 1,
      detailedMonitoring: true,
      blockDevices: [
        {
          // The DLAMI's root volume (OS, NVIDIA driver, CUDA) needs more than the default 8 GiB.
          deviceName: "/dev/xvda",
          volume: ec2.BlockDeviceVolume.ebs(100, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }),
        },
        {
          deviceName: DATA_DEVICE,
          volume: ec2.BlockDeviceVolume.ebs(props.dataVolumeGiB, {
            encrypted: true,
            volumeType: ec2.EbsDeviceVolumeType.GP3,
            deleteOnTermination: true,
          }),
        },
      ],
    });

    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, "AutoScalingGroup", {
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      launchTemplate,
      // Exactly one host: the group only replaces it when it fails (cost is the GPU hour).
      minCapacity: 1,
      maxCapacity: 1,
      healthChecks: autoscaling.HealthChecks.withAdditionalChecks({
        additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB],
        gracePeriod: props.bootGracePeriod ?? Duration.minutes(25),
      }),
    });

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, "LoadBalancer", {
      vpc,
      internetFacing: false,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroup: this.loadBalancerSecurityGroup,
      // Streams stay open while tokens flow; long prompts can take a while before the first one.
      idleTimeout: Duration.minutes(5),
      dropInvalidHeaderFields: true,
    });
    const listener = this.loadBalancer.addListener("Ollama", {
      port: OLLAMA_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      // `open: false`: no 0.0.0.0/0 rule; only the functions' security group (above) may connect.
      open: false,
    });
    this.targetGroup = listener.addTargets("OllamaHost", {
      port: OLLAMA_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [this.autoScalingGroup],
      deregistrationDelay: Duration.seconds(30),
      healthCheck: {
        path: "/api/tags",
        port: String(OLLAMA_PORT),
        healthyHttpCodes: "200",
        interval: Duration.seconds(30),
        timeout: Duration.seconds(10),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
      },
    });
    this.baseUrl = Fn.join("", ["http://", this.loadBalancer.loadBalancerDnsName, `:${OLLAMA_PORT}/v1`]);
  }

  private userData(props: OllamaHostProps): ec2.UserData {
    const userData = ec2.UserData.forLinux();
    const agentConfig = {
      agent: { metrics_collection_interval: 60 },
      metrics: {
        namespace: GPU_HOST_NAMESPACE,
        // The agent's own placeholder syntax (not a JavaScript template).
        // biome-ignore lint/suspicious/noTemplateCurlyInString: literal for the CloudWatch agent
        append_dimensions: { AutoScalingGroupName: "${aws:AutoScalingGroupName}" },
        aggregation_dimensions: [["AutoScalingGroupName"]],
        metrics_collected: {
          nvidia_gpu: {
            measurement: ["utilization_gpu", "utilization_memory", "memory_used", "memory_total", "temperature_gpu"],
          },
          mem: { measurement: ["mem_used_percent"] },
          disk: { measurement: ["used_percent"], resources: ["/", MODELS_MOUNT] },
        },
      },
    };
    userData.addCommands(
      "set -euxo pipefail",
      // Data volume: on Nitro instances /dev/sdf is a udev symlink to an NVMe device; format it once.
      `for i in $(seq 1 60); do [ -e ${DATA_DEVICE} ] && break; sleep 2; done`,
      `DATA_DEV=$(readlink -f ${DATA_DEVICE})`,
      `blkid "$DATA_DEV" || mkfs.xfs "$DATA_DEV"`,
      `mkdir -p ${MODELS_MOUNT}`,
      `grep -q " ${MODELS_MOUNT} " /etc/fstab || echo "UUID=$(blkid -s UUID -o value "$DATA_DEV") ${MODELS_MOUNT} xfs defaults,nofail 0 2" >> /etc/fstab`,
      "mount -a",
      // Ollama, pinned; the installer creates the `ollama` user and the systemd unit.
      `curl -fsSL https://ollama.com/install.sh | OLLAMA_VERSION=${props.ollamaVersion} sh`,
      `mkdir -p ${MODELS_MOUNT}/models && chown -R ollama:ollama ${MODELS_MOUNT}`,
      "mkdir -p /etc/systemd/system/ollama.service.d",
      "cat > /etc/systemd/system/ollama.service.d/collabry.conf <<'EOF'",
      "[Service]",
      // 0.0.0.0: reachable through the load balancer; the security groups are the boundary.
      `Environment="OLLAMA_HOST=0.0.0.0:${OLLAMA_PORT}"`,
      `Environment="OLLAMA_KEEP_ALIVE=${props.keepAlive}"`,
      `Environment="OLLAMA_MODELS=${MODELS_MOUNT}/models"`,
      "EOF",
      "systemctl daemon-reload",
      "systemctl enable ollama",
      "systemctl restart ollama",
      `for i in $(seq 1 60); do curl -fs http://127.0.0.1:${OLLAMA_PORT}/api/tags && break; sleep 2; done`,
      `sudo -u ollama env OLLAMA_HOST=127.0.0.1:${OLLAMA_PORT} ollama pull ${props.chatModel}`,
      `sudo -u ollama env OLLAMA_HOST=127.0.0.1:${OLLAMA_PORT} ollama pull ${props.embeddingsModel}`,
      // CloudWatch agent with the nvidia_gpu plugin (nvidia-smi ships with the DLAMI).
      "dnf install -y amazon-cloudwatch-agent",
      "cat > /opt/aws/amazon-cloudwatch-agent/etc/collabry.json <<'EOF'",
      JSON.stringify(agentConfig),
      "EOF",
      "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:/opt/aws/amazon-cloudwatch-agent/etc/collabry.json",
    );
    return userData;
  }
}
