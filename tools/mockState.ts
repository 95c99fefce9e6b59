/**
 * The state the mock cloud hands back for each resource and invoke, shaped like AWS's and the
 * providers' real answers (tools/mockAwsCatalog.ts holds the AWS facts). Kept apart from the
 * recording harness (mockCloud.ts) so each stays readable.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import {
  INSTANCE_TYPES,
  InstanceTypeFacts,
  offeringsOf,
  privateDnsName,
  zonesOf,
} from "./mockAwsCatalog";

/** A real CA certificate (test data, its key discarded), so the discovery hash is computed for real. */
export const CA_CERT_PEM = fs.readFileSync(path.join(__dirname, "fixtures", "mock-ca.crt"), "utf8");
/** The shape of kubeadm's admin.conf (server = controlPlaneEndpoint), with mock credentials. */
export const FAKE_KUBECONFIG = [
  "apiVersion: v1",
  "kind: Config",
  "clusters:",
  "  - name: kubernetes",
  "    cluster:",
  "      certificate-authority-data: TU9DSy1DQQ==",
  "      server: https://api.mock.k8s.internal:6443",
  "contexts:",
  "  - name: kubernetes-admin@kubernetes",
  "    context:",
  "      cluster: kubernetes",
  "      user: kubernetes-admin",
  "current-context: kubernetes-admin@kubernetes",
  "users:",
  "  - name: kubernetes-admin",
  "    user:",
  "      client-certificate-data: TU9DSy1DRVJU",
  "      client-key-data: TU9DSy1LRVk=",
  "",
].join("\n");
/** A bootstrap token's shape: [a-z0-9]{6}.[a-z0-9]{16}. */
export const MOCK_TOKEN_PATTERN = /\b[a-z0-9]{6}\.[a-z0-9]{16}\b/;

/** The token a mock `creds` command prints: unique per command, so tests can trace where it goes. */
export function mockToken(commandName: string): string {
  const hex = createHash("sha256").update(commandName).digest("hex");
  return `${hex.slice(0, 6)}.${hex.slice(6, 22)}`;
}

/**
 * What a mock remote command prints. Every command's stdout is unique, so a test can find every
 * place the program uses one (and check that an update would print it again).
 */
export function mockStdout(commandName: string): string {
  if (commandName.endsWith("-creds")) return mockToken(commandName);
  if (commandName.endsWith("-kubeconfig")) {
    return FAKE_KUBECONFIG.replace("TU9DSy1LRVk=", stdoutMarker(commandName));
  }
  return stdoutMarker(commandName);
}

/**
 * The part of a command's mock stdout that survives whatever the program does with it (a
 * kubeconfig is rewritten, its client key is kept), to find where the program uses it.
 */
export function stdoutMarker(commandName: string): string {
  if (commandName.endsWith("-creds")) return mockToken(commandName);
  if (commandName.endsWith("-kubeconfig")) {
    return Buffer.from(`MOCK-KEY ${commandName}`).toString("base64");
  }
  return `stdout of ${commandName}`;
}

/** Everything the mock state of one resource may need to know about the rest of the stack. */
export interface StateContext {
  readonly region: string;
  /** Inputs of an already registered resource, by its type and mock id (`<name>-id`). */
  inputsOf(type: string, id: string): Record<string, any> | undefined;
  /** A counter per kind, for unique addresses. */
  next(kind: string): number;
}

/** The first address of a CIDR plus `offset`. */
function addressIn(cidr: string, offset: number): string {
  const [base] = cidr.split("/");
  const n = base!.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0) + offset;
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

export function mockResourceState(
  type: string,
  name: string,
  inputs: Record<string, any>,
  ctx: StateContext,
): Record<string, unknown> {
  switch (type) {
    case "aws:ec2/instance:Instance": {
      const n = ctx.next("instance");
      // Inside the instance's own subnet, as EC2 assigns it.
      const subnet = ctx.inputsOf("aws:ec2/subnet:Subnet", String(inputs.subnetId ?? ""));
      const privateIp = addressIn(String(subnet?.cidrBlock ?? "10.0.0.0/19"), 10 + n);
      return {
        privateIp,
        // No public address when the launch asks for none (private topology, the bastion).
        publicIp: inputs.associatePublicIpAddress === false ? "" : `203.0.113.${n}`,
        privateDns: privateDnsName(privateIp, ctx.region),
        arn: `arn:aws:ec2:${ctx.region}:123456789012:instance/i-${name}`,
      };
    }
    case "aws:lb/loadBalancer:LoadBalancer":
      return {
        // Internal load balancers' DNS names start with "internal-".
        dnsName: `${inputs.internal ? "internal-" : ""}${name}-0123456789abcdef.elb.${ctx.region}.amazonaws.com`,
        zoneId: NLB_HOSTED_ZONES[ctx.region] ?? "Z0MOCKNLBZONE",
        arn: `arn:aws:elasticloadbalancing:${ctx.region}:123456789012:loadbalancer/net/${name}/50dc6c495c0c9188`,
      };
    case "aws:ec2/eip:Eip": {
      const n = ctx.next("eip");
      return { publicIp: `198.51.100.${n}`, allocationId: `eipalloc-${name}` };
    }
    case "aws:route53/zone:Zone":
      return {
        zoneId: `Z0${name
          .replace(/[^a-z0-9]/gi, "")
          .toUpperCase()
          .slice(0, 12)}`,
      };
    case "aws:route53/record:Record":
      return { fqdn: inputs.name };
    case "aws:lb/targetGroup:TargetGroup":
      return {
        arn: `arn:aws:elasticloadbalancing:${ctx.region}:123456789012:targetgroup/${name}/73e2d6bc24d8a067`,
      };
    case "aws:lb/listener:Listener":
      return {
        arn: `arn:aws:elasticloadbalancing:${ctx.region}:123456789012:listener/net/${name}/1`,
      };
    case "aws:ec2/keyPair:KeyPair":
      return { keyName: inputs.keyName ?? `${name}-key` };
    case "tls:index/privateKey:PrivateKey":
      return {
        privateKeyPem: `-----BEGIN PRIVATE KEY-----\nMOCK-${name}\n-----END PRIVATE KEY-----\n`,
        privateKeyOpenssh: `-----BEGIN OPENSSH PRIVATE KEY-----\nMOCK-${name}\n-----END OPENSSH PRIVATE KEY-----\n`,
        publicKeyPem: `-----BEGIN PUBLIC KEY-----\nMOCK-${name}\n-----END PUBLIC KEY-----\n`,
        publicKeyOpenssh: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMOCK ${name}\n`,
      };
    case "tls:index/selfSignedCert:SelfSignedCert":
      return { certPem: CA_CERT_PEM };
    case "random:index/randomBytes:RandomBytes":
      return { hex: "c0ffee".padEnd(64, "0"), base64: "mock" };
    case "command:remote:Command":
      return { stdout: mockStdout(name), stderr: "" };
    default:
      return {};
  }
}

/** The canonical hosted zone of network load balancers, per region (AWS: ELB endpoints). */
const NLB_HOSTED_ZONES: Record<string, string> = {
  "us-east-1": "Z26RNL4JYFTOTI",
  "us-west-2": "Z18D5FSROUN65G",
  "eu-west-1": "Z2IFOLAFXWLO4F",
};

/** A running instance as the mock EC2 API knows it (for the live instance-type lookup). */
export interface LiveInstance {
  readonly cluster: string;
  readonly role: "control-plane" | "worker";
  readonly instanceType: string;
}

export interface InvokeContext {
  readonly region: string;
  /** What `pulumi:pulumi:readStackOutputs` answers for this stack. */
  readonly previousOutputs: Record<string, unknown>;
  readonly liveInstances: ReadonlyMap<string, LiveInstance>;
  /**
   * Facts for a type the catalogue does not list (offered in every zone of the region), or
   * undefined to refuse it as EC2 refuses a made-up type. Unset: refused.
   */
  readonly assumeInstanceType?: (instanceType: string) => InstanceTypeFacts | undefined;
  /** Service Quotas values by quota code (absent: the default below). */
  readonly quotas?: Readonly<Record<string, number>>;
}

/** What Service Quotas answers when nothing else is set: generous, so tests opt into limits. */
const DEFAULT_QUOTAS: Record<string, number> = { "L-1216C47A": 640, "L-0EA8095F": 60 };

/** The catalogue's facts, else the assumed ones (which are offered in every zone). */
function factsOf(
  instanceType: string,
  ctx: InvokeContext,
): { facts: InstanceTypeFacts; assumed: boolean } | undefined {
  const listed = INSTANCE_TYPES[instanceType];
  if (listed) return { facts: listed, assumed: false };
  const assumed = ctx.assumeInstanceType?.(instanceType);
  return assumed ? { facts: assumed, assumed: true } : undefined;
}

/** Answers the invokes the program makes; an unknown one throws so no lookup passes unmocked. */
export function mockInvoke(token: string, args: Record<string, any>, ctx: InvokeContext): any {
  switch (token) {
    case "pulumi:pulumi:readStackOutputs":
      return { name: args.name, outputs: ctx.previousOutputs, secretOutputNames: [] };
    case "aws:index/getRegion:getRegion":
      return { region: ctx.region, name: ctx.region, id: ctx.region };
    case "aws:index/getAvailabilityZones:getAvailabilityZones":
      return { names: zonesOf(ctx.region) };
    case "aws:ec2/getInstanceType:getInstanceType": {
      const found = factsOf(args.instanceType as string, ctx);
      if (!found) throw new Error(`InvalidInstanceType: ${args.instanceType}`);
      const [vcpus, memoryMiB, architectures] = found.facts;
      return { defaultVcpus: vcpus, memorySize: memoryMiB, supportedArchitectures: architectures };
    }
    case "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings": {
      const type = (args.filters as { name: string; values: string[] }[]).find(
        (f) => f.name === "instance-type",
      )?.values[0];
      const found = type ? factsOf(type, ctx) : undefined;
      const zones = !type
        ? []
        : found?.assumed
          ? zonesOf(ctx.region)
          : offeringsOf(ctx.region, type);
      return {
        instanceTypes: zones.map(() => type),
        locations: zones,
        locationTypes: zones.map(() => "availability-zone"),
      };
    }
    case "aws:ec2/getInstances:getInstances": {
      const tags = (args.instanceTags ?? {}) as Record<string, string>;
      const ids = [...ctx.liveInstances.entries()]
        .filter(
          ([, i]) =>
            i.cluster === tags["kubeadm-aws/cluster"] && i.role === tags["kubeadm-aws/role"],
        )
        .map(([id]) => id);
      return { ids, privateIps: [], publicIps: [] };
    }
    case "aws:ec2/getInstance:getInstance": {
      const live = ctx.liveInstances.get(args.instanceId as string);
      if (!live) throw new Error(`InvalidInstanceID.NotFound: ${args.instanceId}`);
      return { instanceType: live.instanceType };
    }
    case "aws:servicequotas/getServiceQuota:getServiceQuota": {
      const code = args.quotaCode as string;
      const value = ctx.quotas?.[code] ?? DEFAULT_QUOTAS[code];
      if (value === undefined) throw new Error(`NoSuchResourceException: ${code}`);
      return { value, quotaCode: code, serviceCode: args.serviceCode };
    }
    case "aws:ec2/getAmi:getAmi": {
      const filters = args.filters as { name: string; values: string[] }[];
      const byId = filters.find((f) => f.name === "image-id")?.values[0];
      const arch = byId
        ? byId === "ami-0aaaaaaaaaaaaaaa1"
          ? "arm64"
          : "x86_64"
        : filters.find((f) => f.name === "architecture")?.values[0];
      return {
        id: arch === "arm64" ? "ami-0aaaaaaaaaaaaaaa1" : "ami-0bbbbbbbbbbbbbbb2",
        architecture: arch,
      };
    }
    default:
      throw new Error(`unmocked invoke ${token}`);
  }
}
