/**
 * A mock cloud for evaluating the program without AWS: Pulumi mocks with realistic state, used
 * by the component tests, `npm run render` and `npm run bench`.
 *
 * - Every registered resource is recorded with its type, name, inputs and the URNs it depends on
 *   (read from the register request, so tests can assert the command graph's shape).
 * - Instances get RFC 5737 public addresses and EC2-style private DNS names; the NLB a real-looking
 *   DNS name; the CA a real certificate (fixture) so the discovery hash is computed for real.
 * - Unknown invokes throw, so a test never silently passes on an unmocked lookup.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly inputs: Record<string, any>;
  readonly dependencies: string[];
  readonly additionalSecretOutputs: string[];
  readonly parentUrn: string;
}

/** A real CA certificate (test data, its key discarded), so the discovery hash is computed for real. */
export const CA_CERT_PEM = fs.readFileSync(path.join(__dirname, "fixtures", "mock-ca.crt"), "utf8");
export const FAKE_TOKEN = "mock01.m0cktokenvalue01";
export const FAKE_KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n";

/** EC2 instance types the mocks know: vCPU, MiB, architectures. */
export const INSTANCE_TYPES: Record<string, [number, number, string[]]> = {
  "t3.micro": [2, 1024, ["x86_64"]],
  "t3.small": [2, 2048, ["x86_64"]],
  "t3.medium": [2, 4096, ["x86_64"]],
  "t3a.nano": [2, 512, ["x86_64"]],
  "t2.micro": [1, 1024, ["i386", "x86_64"]],
  "m7i.large": [2, 8192, ["x86_64"]],
  "m7i.xlarge": [4, 16384, ["x86_64"]],
  "t4g.medium": [2, 4096, ["arm64"]],
  "m7g.large": [2, 8192, ["arm64"]],
  "mac1.metal": [12, 32768, ["x86_64_mac"]],
};

export const ZONES = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"];

export interface Harness {
  resources: RecordedResource[];
  invokes: { token: string; args: Record<string, unknown> }[];
  byType(type: string): RecordedResource[];
  byName(name: string): RecordedResource;
  nameOfUrn(urn: string): string;
}

let instanceCounter = 0;

/** Installs the mocks; call before importing any module under test. */
export async function installMocks(stack = "dev"): Promise<Harness> {
  const resources: RecordedResource[] = [];
  const invokes: Harness["invokes"] = [];
  const pending = new Map<string, { deps: string[]; secrets: string[]; parent: string }>();

  // Capture what the SDK sends with each registration (dependencies, secret outputs).
  const mocksModule = require("@pulumi/pulumi/runtime/mocks");
  const proto = mocksModule.MockMonitor.prototype;
  if (!proto.__kubeadmAwsWrapped) {
    const original = proto.registerResource;
    proto.registerResource = function (req: any, callback: any) {
      (globalThis as any).__kubeadmAwsOnRegister?.(req);
      return original.call(this, req, callback);
    };
    proto.__kubeadmAwsWrapped = true;
  }
  (globalThis as any).__kubeadmAwsOnRegister = (req: any) => {
    pending.set(`${req.getType()}::${req.getName()}`, {
      deps: req.getDependenciesList(),
      secrets: req.getAdditionalsecretoutputsList(),
      parent: req.getParent(),
    });
  };

  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const meta = pending.get(`${args.type}::${args.name}`);
        const parentUrn = meta?.parent ?? "";
        const parentType = parentUrn ? parentUrn.split("::")[2] : "";
        const qualifiedType = parentType ? `${parentType}$${args.type}` : args.type;
        const urn = `urn:pulumi:${stack}::kubeadm-aws::${qualifiedType}::${args.name}`;
        resources.push({
          type: args.type,
          name: args.name,
          urn,
          inputs: unwrapSecrets(args.inputs),
          dependencies: meta?.deps ?? [],
          additionalSecretOutputs: meta?.secrets ?? [],
          parentUrn,
        });
        return {
          id: `${args.name}-id`,
          state: { ...args.inputs, ...mockState(args.type, args.name, args.inputs) },
        };
      },
      call(args) {
        invokes.push({ token: args.token, args: args.inputs });
        switch (args.token) {
          case "aws:ec2/getAmi:getAmi": {
            const filters = args.inputs.filters as { name: string; values: string[] }[];
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
          case "aws:ec2/getInstanceType:getInstanceType": {
            const facts = INSTANCE_TYPES[args.inputs.instanceType as string];
            if (!facts) throw new Error(`InvalidInstanceType: ${args.inputs.instanceType}`);
            return {
              defaultVcpus: facts[0],
              memorySize: facts[1],
              supportedArchitectures: facts[2],
            };
          }
          case "aws:index/getAvailabilityZones:getAvailabilityZones":
            return { names: ZONES.slice(0, 3) };
          default:
            throw new Error(`unmocked invoke ${args.token}`);
        }
      },
    },
    "kubeadm-aws",
    stack,
    false,
  );

  const byType = (type: string) => resources.filter((r) => r.type === type);
  return {
    resources,
    invokes,
    byType,
    byName(name) {
      const found = resources.filter((r) => r.name === name);
      if (found.length !== 1)
        throw new Error(`expected one resource named ${name}, found ${found.length}`);
      return found[0]!;
    },
    nameOfUrn: (urn) => urn.split("::").pop()!,
  };
}

/** The SDK hands mocks secret inputs as sentinel objects; tests want the plain values. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
function unwrapSecrets(value: any): any {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value && typeof value === "object") {
    if (SECRET_SIG in value) return unwrapSecrets(value.value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

function mockState(
  type: string,
  name: string,
  inputs: Record<string, any>,
): Record<string, unknown> {
  switch (type) {
    case "aws:ec2/instance:Instance": {
      const n = ++instanceCounter;
      // Inside the default VPC's per-zone /18 subnets (10.0.0.0, 10.0.64.0, 10.0.128.0, ...).
      const zone = Math.max(0, "abcdef".indexOf(String(inputs.availabilityZone ?? "a").slice(-1)));
      const privateIp = `10.0.${64 * zone}.${10 + n}`;
      return {
        privateIp,
        publicIp: `203.0.113.${n}`,
        privateDns: `ip-${privateIp.replace(/\./g, "-")}.ec2.internal`,
        arn: `arn:aws:ec2:us-east-1:123456789012:instance/i-${name}`,
      };
    }
    case "aws:lb/loadBalancer:LoadBalancer":
      return {
        dnsName: `${name}-0123456789abcdef.elb.us-east-1.amazonaws.com`,
        arn: `arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/${name}/50dc6c495c0c9188`,
      };
    case "aws:lb/targetGroup:TargetGroup":
      return {
        arn: `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/${name}/73e2d6bc24d8a067`,
      };
    case "aws:lb/listener:Listener":
      return { arn: `arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/net/${name}/1` };
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
      if (name.endsWith("-creds")) return { stdout: `${FAKE_TOKEN}\n`, stderr: "" };
      if (name.endsWith("-kubeconfig")) return { stdout: FAKE_KUBECONFIG, stderr: "" };
      return { stdout: "", stderr: "" };
    default:
      return {};
  }
}

/** Resolves an Output's value (undefined during preview-unknowns). */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((v) => resolve(v)));
}

/** Lets every pending registration reach the mock monitor. */
export async function settle(...outputs: pulumi.Output<unknown>[]): Promise<void> {
  await Promise.all(outputs.map(valueOf));
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}
