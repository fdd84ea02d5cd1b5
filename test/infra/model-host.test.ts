import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { featureRoutes } from "#functions/index.ts";
import { logicalIdOf, resourcesOf, type SynthResult, synthCollabry } from "./support.ts";

interface IngressRule {
  IpProtocol?: string;
  FromPort?: number;
  ToPort?: number;
  CidrIp?: string;
  CidrIpv6?: string;
  SourceSecurityGroupId?: unknown;
  GroupId?: unknown;
}

describe("model host stack (Ollama on a GPU instance)", () => {
  let result: SynthResult;
  let ingress: IngressRule[];

  beforeAll(() => {
    // Prepare
    result = synthCollabry({ featureRoutes });
    const template = result.modelHost;
    if (!template) throw new Error("no model host stack in ollama mode");
    // Inline rules of every security group plus standalone ingress resources.
    ingress = [
      ...resourcesOf(template, "AWS::EC2::SecurityGroup").flatMap(([id, group]) =>
        ((group.Properties?.SecurityGroupIngress as IngressRule[] | undefined) ?? []).map((rule) => ({
          ...rule,
          GroupId: { "Fn::GetAtt": [id, "GroupId"] },
        })),
      ),
      ...resourcesOf(template, "AWS::EC2::SecurityGroupIngress").map(([, rule]) => rule.Properties as IngressRule),
    ];
  });

  it("admits no traffic from 0.0.0.0/0 or ::/0 anywhere", () => {
    // Assess
    for (const rule of ingress) {
      expect(rule.CidrIp).toBeUndefined();
      expect(rule.CidrIpv6).toBeUndefined();
    }
  });

  it("admits only 11434, from the functions' security group to the load balancer and from the load balancer to the host", () => {
    // Prepare
    const { host, functionsSecurityGroup } = result.stacks.modelHost ?? {};
    if (!host || !functionsSecurityGroup) throw new Error("model host missing");
    const groupRef = (id: string) => ({ "Fn::GetAtt": [id, "GroupId"] });

    // Act
    const lbId = logicalIdOf(host.loadBalancerSecurityGroup);
    const hostId = logicalIdOf(host.hostSecurityGroup);
    const fnId = logicalIdOf(functionsSecurityGroup);

    // Assess
    expect(ingress).toHaveLength(2);
    expect(ingress).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          IpProtocol: "tcp",
          FromPort: 11434,
          ToPort: 11434,
          GroupId: groupRef(lbId),
          SourceSecurityGroupId: groupRef(fnId),
        }),
        expect.objectContaining({
          IpProtocol: "tcp",
          FromPort: 11434,
          ToPort: 11434,
          GroupId: groupRef(hostId),
          SourceSecurityGroupId: groupRef(lbId),
        }),
      ]),
    );
  });

  it("requires IMDSv2, encrypts every volume, sets no SSH key and uses the Deep Learning GPU AMI from SSM", () => {
    // Act
    const templates = result.modelHost ? resourcesOf(result.modelHost, "AWS::EC2::LaunchTemplate") : [];
    const data = (templates[0]?.[1].Properties?.LaunchTemplateData ?? {}) as Record<string, unknown>;
    const devices = data.BlockDeviceMappings as Array<{ Ebs: { Encrypted: boolean } }>;

    // Assess
    expect(templates).toHaveLength(1);
    expect(data.MetadataOptions).toMatchObject({ HttpTokens: "required", HttpPutResponseHopLimit: 1 });
    expect(data.KeyName).toBeUndefined();
    expect(data.InstanceType).toBe("g5.xlarge");
    expect(devices).toHaveLength(2);
    for (const device of devices) expect(device.Ebs.Encrypted).toBe(true);
    expect(JSON.stringify(result.modelHost?.toJSON().Parameters)).toContain(
      "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id",
    );
  });

  it("installs and configures Ollama and the GPU metrics agent in user data", () => {
    // Act
    const userData = JSON.stringify(result.modelHost?.findResources("AWS::EC2::LaunchTemplate") ?? {});

    // Assess
    for (const expected of [
      "OLLAMA_HOST=0.0.0.0:11434",
      "OLLAMA_KEEP_ALIVE=24h",
      "OLLAMA_MODELS=/opt/ollama/models",
      "ollama pull llama3.1:8b",
      "ollama pull nomic-embed-text",
      "nvidia_gpu",
      "amazon-cloudwatch-agent",
    ]) {
      expect(userData).toContain(expected);
    }
  });

  it("keeps exactly one instance behind an internal load balancer health-checking /api/tags", () => {
    // Assess
    result.modelHost?.hasResourceProperties("AWS::AutoScaling::AutoScalingGroup", {
      MinSize: "1",
      MaxSize: "1",
      HealthCheckType: "ELB",
    });
    result.modelHost?.hasResourceProperties("AWS::ElasticLoadBalancingV2::LoadBalancer", {
      Scheme: "internal",
      Type: "application",
    });
    result.modelHost?.hasResourceProperties("AWS::ElasticLoadBalancingV2::TargetGroup", {
      Port: 11434,
      HealthCheckPath: "/api/tags",
      HealthCheckPort: "11434",
      Matcher: { HttpCode: "200" },
    });
  });

  it("runs model-calling functions in the private subnets with the functions' security group", () => {
    // Prepare
    const { api } = result.stacks;

    // Act
    const inVpc = api.allFunctions
      .filter((fn) => fn.isBoundToVpc)
      .map((fn) => fn.node.path.split("/").slice(1).join("/"))
      .sort();

    const modelCallers = api.features
      .filter(({ profile }) => profile.usesModel)
      .flatMap(({ buffered, streaming }) => [buffered, streaming])
      .filter((fn) => fn !== undefined)
      .map((fn) => fn.node.path.split("/").slice(1).join("/"));

    // Assess: the model callers and the worker, nothing else (meta, documents stay outside)
    expect(inVpc).toEqual([...modelCallers, "IngestWorker/Function"].sort());
    expect(inVpc).toContain("ChatStreamingFunction");
    expect(inVpc).not.toContain("MetaFunction");
    result.api.hasResourceProperties("AWS::Lambda::Function", {
      VpcConfig: {
        SecurityGroupIds: [Match.objectLike({ "Fn::ImportValue": Match.anyValue() })],
        SubnetIds: Match.anyValue(),
      },
    });
  });
});
