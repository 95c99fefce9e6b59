/**
 * A mock cloud for evaluating the program without AWS: Pulumi mocks with realistic state, used
 * by the component tests, `npm run render` and `npm run bench`.
 *
 * - Every registered resource is recorded with its type, name, inputs and what the engine would
 *   record of it: the URNs it depends on, its parent, its `deletedWith` target (read from the
 *   register request), so tests can derive the engine's create and delete order from the graph.
 * - AWS answers come from tools/mockAwsCatalog.ts (each region's real zones, six in us-east-1
 *   with per-zone offerings, region-correct names; the publishers' images and AWS's public image
 *   parameters in tools/mockImages.ts) through tools/mockState.ts; instances get
 *   addresses inside their subnet, the CA a real certificate
 *   (and, with `realCertificates`, every key and certificate: mockCertificates.ts), each command a
 *   unique stdout.
 * - The stack's previous outputs (the deployment record) and the instances EC2 reports as
 *   running can be set, to evaluate a day-2 change against an existing cluster.
 * - Unknown invokes throw, so a test never silently passes on an unmocked lookup; so does an
 *   instance type the catalogue does not list, unless `unknownInstanceTypes: "assume"`.
 */
import * as pulumi from "@pulumi/pulumi";
import { assumedInstanceTypeFacts, InstanceTypeFacts } from "./mockAwsCatalog";
import { LiveInstance, mockInvoke, mockResourceState } from "./mockState";

export * from "./mockAwsCatalog";
export { MOCK_IMAGES, MOCK_PUBLIC_PARAMETERS } from "./mockImages";
export { CA_CERT_PEM, stdoutMarker } from "./mockState";
export type { LiveInstance } from "./mockState";

/**
 * How to build a cluster in the mock cloud (pass to createKubeadmCluster): its internet is the
 * documentation ranges (public addresses 203.0.113.x), and `my-ip` resolves to 192.0.2.1
 * without touching the network.
 */
export const MOCK_CLUSTER_OPTIONS = {
  allowDocumentationCidrs: true,
  detectIp: async () => "192.0.2.1",
} as const;

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly inputs: Record<string, any>;
  /** The state the mock returned (inputs plus what AWS would add: addresses, names, ARNs). */
  readonly outputs: Record<string, any>;
  /** Every URN the resource depends on (explicit dependsOn and through its inputs). */
  readonly dependencies: string[];
  /** The URN of its `deletedWith` target, or "". */
  readonly deletedWith: string;
  readonly ignoreChanges: string[];
  /** Whether a delete leaves the real resource in place (`retainOnDelete`). */
  readonly retainOnDelete: boolean;
  readonly additionalSecretOutputs: string[];
  readonly parentUrn: string;
}

export interface Harness {
  resources: RecordedResource[];
  invokes: { token: string; args: Record<string, unknown> }[];
  byType(type: string): RecordedResource[];
  byName(name: string): RecordedResource;
  /** The one resource of a type with a name (components and their children may share names). */
  find(type: string, name: string): RecordedResource;
  nameOfUrn(urn: string): string;
  /** What `pulumi:pulumi:readStackOutputs` returns for this stack from now on. */
  setPreviousOutputs(outputs: Record<string, unknown>): void;
  /** The instances EC2 reports, by instance id. */
  setLiveInstances(instances: Record<string, LiveInstance>): void;
  /**
   * The instance types the catalogue does not list that were answered with assumed facts, by
   * name (only with `unknownInstanceTypes: "assume"`).
   */
  readonly assumedInstanceTypes: ReadonlyMap<string, InstanceTypeFacts>;
  /** Service Quotas values by quota code, e.g. { "L-1216C47A": 8 } for a new account. */
  setQuotas(quotas: Record<string, number>): void;
  /** Forgets every recorded resource and invoke, to evaluate the same stack again. */
  reset(): void;
}

let counters = new Map<string, number>();
let claims = new Map<string, Set<number>>();

/** The region the stack's config selects, as the AWS provider would read it. */
function configuredRegion(): string {
  return pulumi.runtime.allConfig()["aws:region"] ?? "us-east-1";
}

export interface MockOptions {
  /**
   * Keep the SDK's stack capture for every resource and tracked promise, as in a real run (the
   * benchmark measures with it); tests and the render tool drop it, which makes evaluating the
   * program four times faster (see below).
   */
  readonly sdkStackTraces?: boolean;
  /**
   * A well-formed instance type the catalogue does not list: refused like EC2 refuses a made-up
   * one ("refuse", the default, which the tests rely on), or answered with facts assumed from
   * its name and offered in every zone ("assume": the render tool, which warns about each).
   */
  readonly unknownInstanceTypes?: "refuse" | "assume";
  /** Real keys and certificates from openssl, to parse what the program issues (slower). */
  readonly realCertificates?: boolean;
}

/** Installs the mocks; call before importing any module under test. */
export async function installMocks(stack = "dev", options: MockOptions = {}): Promise<Harness> {
  const resources: RecordedResource[] = [];
  const invokes: Harness["invokes"] = [];
  const byId = new Map<string, Record<string, any>>();
  let previousOutputs: Record<string, unknown> = {};
  let liveInstances = new Map<string, LiveInstance>();
  let quotas: Record<string, number> = {};
  const assumedInstanceTypes = new Map<string, InstanceTypeFacts>();
  const assumeInstanceType =
    options.unknownInstanceTypes === "assume"
      ? (instanceType: string) => {
          const facts = assumedInstanceTypeFacts(instanceType);
          if (facts) assumedInstanceTypes.set(instanceType, facts);
          return facts;
        }
      : undefined;
  const pending = new Map<
    string,
    {
      deps: string[];
      deletedWith: string;
      ignore: string[];
      secrets: string[];
      parent: string;
      retainOnDelete: boolean;
    }
  >();
  counters = new Map();
  claims = new Map();

  if (!options.sdkStackTraces) dropSdkStackTraces();

  // Capture what the SDK sends with each registration (dependencies, options).
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
    const propertyDeps: string[] = [];
    req.getPropertydependenciesMap().forEach((v: any) => propertyDeps.push(...v.getUrnsList()));
    pending.set(`${req.getType()}::${req.getName()}`, {
      deps: [...new Set([...req.getDependenciesList(), ...propertyDeps])],
      deletedWith: req.getDeletedwith(),
      ignore: req.getIgnorechangesList(),
      secrets: req.getAdditionalsecretoutputsList(),
      parent: req.getParent(),
      retainOnDelete: req.getRetainondelete?.() ?? false,
    });
  };

  const claim = (pool: string, preferred: number, size: number) => {
    const used = claims.get(pool) ?? new Set<number>();
    claims.set(pool, used);
    if (used.size >= size) throw new Error(`mock cloud: no free number left in ${pool}`);
    let n = preferred % size;
    while (used.has(n)) n = (n + 1) % size;
    used.add(n);
    return n;
  };

  const next = (kind: string) => {
    const n = (counters.get(kind) ?? 0) + 1;
    counters.set(kind, n);
    return n;
  };

  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const meta = pending.get(`${args.type}::${args.name}`);
        const parentUrn = meta?.parent ?? "";
        // The URN exactly as the SDK's MockMonitor makes it (runtime/mocks.js newUrn: the
        // parent's own type only), so recorded dependencies resolve to recorded resources.
        const parentType = parentUrn ? parentUrn.split("::")[2]!.split("$").pop() : "";
        const qualifiedType = parentType ? `${parentType}$${args.type}` : args.type;
        const urn = `urn:pulumi:${stack}::kubeadm-aws::${qualifiedType}::${args.name}`;
        const inputs = unwrapSecrets(args.inputs);
        const id = `${args.name}-id`;
        byId.set(`${args.type} ${id}`, inputs);
        const state = mockResourceState(args.type, args.name, inputs, {
          region: configuredRegion(),
          inputsOf: (type, other) => byId.get(`${type} ${other}`),
          next,
          claim,
          realCertificates: options.realCertificates,
        });
        resources.push({
          type: args.type,
          name: args.name,
          urn,
          inputs,
          outputs: { ...inputs, ...state },
          dependencies: meta?.deps ?? [],
          deletedWith: meta?.deletedWith ?? "",
          ignoreChanges: meta?.ignore ?? [],
          retainOnDelete: meta?.retainOnDelete ?? false,
          additionalSecretOutputs: meta?.secrets ?? [],
          parentUrn,
        });
        return { id, state: { ...args.inputs, ...state } };
      },
      call(args) {
        invokes.push({ token: args.token, args: args.inputs });
        return mockInvoke(args.token, args.inputs, {
          region: configuredRegion(),
          previousOutputs,
          liveInstances,
          quotas,
          assumeInstanceType,
        });
      },
    },
    "kubeadm-aws",
    stack,
    false,
    "organization",
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
    find(type, name) {
      const found = resources.filter((r) => r.type === type && r.name === name);
      if (found.length !== 1)
        throw new Error(`expected one ${type} named ${name}, found ${found.length}`);
      return found[0]!;
    },
    nameOfUrn: (urn) => urn.split("::").pop()!,
    assumedInstanceTypes,
    setPreviousOutputs(outputs) {
      previousOutputs = outputs;
    },
    setLiveInstances(instances) {
      liveInstances = new Map(Object.entries(instances));
    },
    setQuotas(values) {
      quotas = values;
    },
    reset() {
      resources.length = 0;
      invokes.length = 0;
      byId.clear();
      assumedInstanceTypes.clear();
      counters = new Map();
      claims = new Map();
    },
  };
}

/**
 * The SDK walks the whole call stack of every resource for its source position (resource.js,
 * Resource.callsites, with Error.stackTraceLimit = Infinity), and every tracked promise records a
 * stack for the leak report (runtime/debuggable.js, debuggablePromise). Under source maps that is
 * three quarters of the time to evaluate the program. Source positions only feed the engine's
 * display, which mocks do not have; the leak detection is kept, without the stacks.
 */
function dropSdkStackTraces(): void {
  (pulumi.Resource as unknown as { callsites: () => unknown[] }).callsites = () => [];
  const debuggable = require("@pulumi/pulumi/runtime/debuggable");
  if (debuggable.__kubeadmAwsWrapped) return;
  const track = debuggable.debuggablePromise;
  debuggable.debuggablePromise = (p: Promise<unknown>, ctx: unknown) => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return track(p, ctx);
    } finally {
      Error.stackTraceLimit = limit;
    }
  };
  debuggable.__kubeadmAwsWrapped = true;
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

/** Resolves an Output's value (undefined during preview-unknowns). */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((v) => resolve(v)));
}

/** Lets every pending registration reach the mock monitor. */
export async function settle(...outputs: pulumi.Output<unknown>[]): Promise<void> {
  await Promise.all(outputs.map(valueOf));
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}
