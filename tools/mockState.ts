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
import { getAmi, getParameter } from "./mockImages";
import {
  remembered,
  realCertRequest,
  realLocallySignedCert,
  realPrivateKey,
  realSelfSignedCert,
} from "./mockCertificates";

/** The account the mock deploys into (the documentation example account). */
export const MOCK_ACCOUNT_ID = "123456789012";

/** A real CA certificate (test data, its key discarded), the CAs' stand-in without realCertificates. */
export const CA_CERT_PEM = fs.readFileSync(path.join(__dirname, "fixtures", "mock-ca.crt"), "utf8");
/**
 * What a mock remote command prints: unique per command, so a test can find any place the
 * program would use one (there should be none: the program reads no step's output).
 */
export function stdoutMarker(commandName: string): string {
  return `stdout of ${commandName}`;
}

/** Everything the mock state of one resource may need to know about the rest of the stack. */
export interface StateContext {
  readonly region: string;
  /** Inputs of an already registered resource, by its type and mock id (`<name>-id`). */
  inputsOf(type: string, id: string): Record<string, any> | undefined;
  /** A counter per kind, for unique names. */
  next(kind: string): number;
  /**
   * A number in [0, size) unique within `pool` for this evaluation: `preferred` if free, else the
   * next free one. Addresses come from it, so a node keeps its address when others are added.
   */
  claim(pool: string, preferred: number, size: number): number;
  /** Make keys and certificates for real (tools/mockCertificates.ts). */
  readonly realCertificates?: boolean;
}

/** A stable number from a resource name (the first 32 bits of its SHA-256). */
function nameHash(name: string): number {
  return createHash("sha256").update(name).digest().readUInt32BE(0);
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
      // Inside the instance's own subnet, as EC2 assigns it, and derived from the instance's name
      // rather than the order of registration: adding a worker must not move cp-0's address, or
      // every rendered plan diff (tools/planDiff.ts) would show the running nodes changing.
      const subnetId = String(inputs.subnetId ?? "");
      const cidr = String(
        ctx.inputsOf("aws:ec2/subnet:Subnet", subnetId)?.cidrBlock ?? "10.0.0.0/19",
      );
      const hosts = 2 ** (32 - Number(cidr.split("/")[1] ?? 19));
      // AWS reserves a subnet's first four addresses and its last; the mock keeps below 4 096.
      const usable = Math.min(hosts - 5 - 6, 4096);
      const privateIp = addressIn(cidr, 10 + ctx.claim(`ip ${cidr}`, nameHash(name), usable));
      const publicIp = `203.0.113.${1 + ctx.claim("public ip", nameHash(name), 254)}`;
      return {
        privateIp,
        // No public address when the launch asks for none (private topology, the bastion).
        publicIp: inputs.associatePublicIpAddress === false ? "" : publicIp,
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
    case "aws:iam/role:Role":
      return {
        arn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:role/${inputs.name ?? name}`,
        uniqueId: `AROA${name
          .replace(/[^A-Za-z0-9]/g, "")
          .toUpperCase()
          .slice(0, 16)}`,
      };
    case "aws:iam/instanceProfile:InstanceProfile":
      return { arn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:instance-profile/${inputs.name ?? name}` };
    case "aws:ec2/keyPair:KeyPair":
      return { keyName: inputs.keyName ?? `${name}-key` };
    case "tls:index/privateKey:PrivateKey":
      return {
        privateKeyPem: `-----BEGIN PRIVATE KEY-----\nMOCK-${name}\n-----END PRIVATE KEY-----\n`,
        privateKeyOpenssh: `-----BEGIN OPENSSH PRIVATE KEY-----\nMOCK-${name}\n-----END OPENSSH PRIVATE KEY-----\n`,
        publicKeyPem: `-----BEGIN PUBLIC KEY-----\nMOCK-${name}\n-----END PUBLIC KEY-----\n`,
        publicKeyOpenssh: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMOCK ${name}\n`,
        ...(ctx.realCertificates
          ? remembered("key", name, inputs, () => realPrivateKey(inputs))
          : {}),
      };
    case "tls:index/selfSignedCert:SelfSignedCert":
      return ctx.realCertificates
        ? remembered("ca", name, inputs, () => realSelfSignedCert(inputs))!
        : { certPem: CA_CERT_PEM };
    case "tls:index/certRequest:CertRequest":
      return ctx.realCertificates
        ? remembered("csr", name, inputs, () => realCertRequest(inputs))!
        : {
            certRequestPem: `-----BEGIN CERTIFICATE REQUEST-----\nMOCK-${name}\n-----END CERTIFICATE REQUEST-----\n`,
          };
    case "tls:index/locallySignedCert:LocallySignedCert":
      return ctx.realCertificates
        ? remembered("cert", name, inputs, () => realLocallySignedCert(inputs))!
        : {
            certPem: `-----BEGIN CERTIFICATE-----\nMOCK-${name}\n-----END CERTIFICATE-----\n`,
          };
    case "aws:s3/bucket:Bucket": {
      // The provider's generated name: the prefix and 26 digits (terraform-plugin-sdk
      // id.PrefixedUniqueId, a timestamp and a counter).
      const bucket =
        inputs.bucket ??
        `${inputs.bucketPrefix ?? "bucket-"}2026120400000000000000000${ctx.next("bucket")}`;
      return {
        bucket,
        arn: `arn:aws:s3:::${bucket}`,
        region: ctx.region,
        bucketRegionalDomainName: `${bucket}.s3.${ctx.region}.amazonaws.com`,
      };
    }
    case "command:remote:Command":
      return { stdout: stdoutMarker(name), stderr: "" };
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
  /** Its Name tag, the node's logical name (`<cluster>-cp-0`). */
  readonly name?: string;
  /** Default: the image the mock looks up for x86_64 nodes. */
  readonly imageId?: string;
  /** Default: a private DNS name derived from the instance id. */
  readonly privateDns?: string;
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
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return {
        accountId: MOCK_ACCOUNT_ID,
        arn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:user/deployer`,
        userId: "AIDAEXAMPLE",
        id: MOCK_ACCOUNT_ID,
      };
    case "aws:index/getPartition:getPartition":
      // The partition of the mock's regions (all commercial ones).
      return {
        partition: "aws",
        dnsSuffix: "amazonaws.com",
        id: "aws",
        reverseDnsPrefix: "com.amazonaws",
      };
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
      return {
        instanceType: live.instanceType,
        ami: live.imageId ?? "ami-0bbbbbbbbbbbbbbb2",
        privateDns: live.privateDns ?? `ip-${String(args.instanceId)}.ec2.internal`,
        tags: live.name ? { Name: live.name } : {},
      };
    }
    case "aws:servicequotas/getServiceQuota:getServiceQuota": {
      const code = args.quotaCode as string;
      const value = ctx.quotas?.[code] ?? DEFAULT_QUOTAS[code];
      if (value === undefined) throw new Error(`NoSuchResourceException: ${code}`);
      return { value, quotaCode: code, serviceCode: args.serviceCode };
    }
    case "aws:ec2/getAmi:getAmi":
      return getAmi(args);
    case "aws:ssm/getParameter:getParameter":
      return getParameter(args, ctx.region);
    default:
      throw new Error(`unmocked invoke ${token}`);
  }
}
