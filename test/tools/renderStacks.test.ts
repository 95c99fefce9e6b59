/**
 * `npm run render` for stacks other than the shipped ones, each in a temporary project folder
 * with its own Pulumi.<stack>.yaml: the region reaches every name, zone counts follow the
 * region's real zones, an instance type the mock catalogue lacks renders with a warning, and
 * the output folder is replaced, never a folder that is not a render.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  assumedInstanceTypeFacts,
  INSTANCE_TYPES,
  REGION_ZONES,
  zonesOf,
} from "../../tools/mockAwsCatalog";
import { mockInvoke, mockResourceState } from "../../tools/mockState";
import { SUMMARY_FILE } from "../../tools/renderLayout";
import { renderPlan } from "../../tools/renderPlan";
import { bootstrapOrder } from "../../tools/renderSummary";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kubeadm-aws-stacks-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let counter = 0;
/** A project folder holding one stack file; returns the folder. */
function project(stack: string, config: Record<string, unknown>): string {
  const dir = path.join(tmp, `project-${++counter}`);
  fs.mkdirSync(dir);
  const lines = Object.entries({
    "kubeadm-aws:sshIngressCidrs": ["10.20.0.0/16"],
    ...config,
  }).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`);
  fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), `config:\n${lines.join("\n")}\n`);
  return dir;
}

/** Every file under a folder, relative, sorted. */
function listFiles(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => fs.statSync(path.join(dir, f)).isFile())
    .sort();
}

const readAll = (dir: string) =>
  listFiles(dir).map((f) => fs.readFileSync(path.join(dir, f), "utf8"));

describe("the region of the stack file", () => {
  test("eu-west-1: node names, the load balancer and the zones are eu-west-1's", async () => {
    const dir = project("euw", {
      "aws:region": "eu-west-1",
      "kubeadm-aws:availabilityZoneCount": 3,
    });
    const outDir = path.join(dir, "out");
    const result = await renderPlan("euw", outDir, dir);
    expect(result.nodes.map((n) => n.zone)).toEqual(["eu-west-1a", "eu-west-1a"]);
    for (const n of result.nodes)
      expect(n.nodeName).toMatch(/^ip-10-0-\d+-\d+\.eu-west-1\.compute\.internal$/);
    expect(result.summary).toContain("| region | eu-west-1 |");
    expect(result.summary).toContain("| zones | eu-west-1a, eu-west-1b, eu-west-1c |");
    expect(result.summary).toMatch(
      /\| API endpoint \(operators\) \| https:\/\/k8s-euw-api-\w+\.elb\.eu-west-1\.amazonaws\.com:6443 \|/,
    );
    const join = fs.readFileSync(path.join(outDir, "k8s-euw-worker-0/join.sh"), "utf8");
    expect(join).toMatch(/readonly API_ENDPOINT_HOST=api\.k8s-euw\.k8s\.internal\n/);
    expect(join).toContain(`readonly NODE_NAME=${result.nodes[1]!.nodeName}\n`);
    for (const text of readAll(outDir)) expect(text).not.toMatch(/us-east-1|ec2\.internal/);
  });

  test("the mock's ARNs and DNS names follow the region", () => {
    const ctx = {
      region: "eu-west-1",
      inputsOf: () => undefined,
      next: () => 1,
      claim: (_pool: string, preferred: number, size: number) => preferred % size,
    };
    expect(mockResourceState("aws:ec2/instance:Instance", "n", {}, ctx)).toMatchObject({
      privateDns: expect.stringMatching(/\.eu-west-1\.compute\.internal$/),
      arn: expect.stringMatching(/^arn:aws:ec2:eu-west-1:/),
    });
    expect(mockResourceState("aws:lb/loadBalancer:LoadBalancer", "lb", {}, ctx)).toMatchObject({
      dnsName: expect.stringMatching(/\.elb\.eu-west-1\.amazonaws\.com$/),
      arn: expect.stringMatching(/^arn:aws:elasticloadbalancing:eu-west-1:/),
    });
  });

  test("the catalogue has each region's real zones; an unlisted region gets a to c", () => {
    expect(zonesOf("us-east-1")).toHaveLength(6);
    expect(zonesOf("us-west-1")).toEqual(["us-west-1b", "us-west-1c"]);
    expect(zonesOf("us-west-2")).toHaveLength(4);
    expect(zonesOf("ca-central-1")).toEqual(["ca-central-1a", "ca-central-1b", "ca-central-1d"]);
    expect(zonesOf("ap-northeast-1")).toEqual([
      "ap-northeast-1a",
      "ap-northeast-1c",
      "ap-northeast-1d",
    ]);
    expect(zonesOf("sa-east-1")).toEqual(["sa-east-1a", "sa-east-1b", "sa-east-1c"]);
    expect(zonesOf("xx-test-9")).toEqual(["xx-test-9a", "xx-test-9b", "xx-test-9c"]);
    for (const [region, zones] of Object.entries(REGION_ZONES)) {
      for (const zone of zones) expect(zone).toMatch(new RegExp(`^${region}[a-f]$`));
    }
  });

  test.each([
    ["eu-west-1", 3],
    ["us-west-1", 2],
  ])("%s: a zone count up to its %i zones renders, one more is refused", async (region, zones) => {
    const stack = `z${zones}`;
    const ok = project(stack, { "aws:region": region, "kubeadm-aws:availabilityZoneCount": zones });
    const result = await renderPlan(stack, path.join(ok, "out"), ok);
    expect(result.summary).toContain(`| zones | ${zonesOf(region).join(", ")} |`);

    const over = project(stack, {
      "aws:region": region,
      "kubeadm-aws:availabilityZoneCount": zones + 1,
    });
    await expect(renderPlan(stack, path.join(over, "out"), over)).rejects.toThrow(
      `availabilityZoneCount ${zones + 1} is more than the ${zones} zone(s) of this region`,
    );
    // Nothing was written for a refused stack.
    expect(fs.existsSync(path.join(over, "out"))).toBe(false);
  });
});

describe("an instance type the mock catalogue does not list", () => {
  test("renders with assumed facts and a warning naming it", async () => {
    expect(INSTANCE_TYPES["c6i.2xlarge"]).toBeUndefined();
    expect(INSTANCE_TYPES["m8g.large"]).toBeUndefined();
    const dir = project("odd", {
      "aws:region": "eu-west-1",
      "kubeadm-aws:controlPlane": { count: 1, instanceType: "c6i.2xlarge" },
      "kubeadm-aws:workers": { count: 1, instanceType: "m8g.large" },
    });
    const result = await renderPlan("odd", path.join(dir, "out"), dir);
    expect(result.warnings).toEqual([
      "c6i.2xlarge is not in the mock catalogue; rendered with assumed facts: 8 vCPU, 32 GiB, x86_64, " +
        "offered in every zone of eu-west-1 (a real run asks EC2: check the type exists there)",
      "m8g.large is not in the mock catalogue; rendered with assumed facts: 2 vCPU, 8 GiB, arm64, " +
        "offered in every zone of eu-west-1 (a real run asks EC2: check the type exists there)",
    ]);
    for (const w of result.warnings) expect(result.summary).toContain(`- ${w}\n`);
    expect(result.nodes.map((n) => n.instanceType)).toEqual(["c6i.2xlarge", "m8g.large"]);
  });

  test("a listed type renders without a warning", async () => {
    const dir = project("listed", {
      "aws:region": "eu-west-1",
      "kubeadm-aws:controlPlane": { count: 1, instanceType: "t3.large" },
    });
    expect((await renderPlan("listed", path.join(dir, "out"), dir)).warnings).toEqual([]);
  });

  test("facts from the name: Graviton families are arm64, sizes scale from xlarge", () => {
    const facts = (t: string) => assumedInstanceTypeFacts(t);
    expect(facts("t4g.nano")).toEqual([2, 512, ["arm64"]]);
    expect(facts("r7gd.xlarge")).toEqual([4, 16384, ["arm64"]]);
    expect(facts("c8g.48xlarge")).toEqual([192, 786432, ["arm64"]]);
    expect(facts("c7gn.medium")).toEqual([2, 4096, ["arm64"]]);
    expect(facts("t3.small")).toEqual([2, 2048, ["x86_64"]]);
    expect(facts("t3.micro")).toEqual([2, 1024, ["x86_64"]]);
    expect(facts("m7i.large")).toEqual([2, 8192, ["x86_64"]]);
    expect(facts("m7i-flex.2xlarge")).toEqual([8, 32768, ["x86_64"]]);
    expect(facts("g5.xlarge")).toEqual([4, 16384, ["x86_64"]]);
    expect(facts("m7i.metal-24xl")).toEqual([96, 393216, ["x86_64"]]);
    expect(facts("mac2.metal")).toEqual([96, 393216, ["arm64_mac"]]);
    expect(facts("not-a-type")).toBeUndefined();
  });

  test("the tests' default mock still refuses it, as EC2 refuses a made-up type", () => {
    const ctx = { region: "us-east-1", previousOutputs: {}, liveInstances: new Map() };
    const ask = (token: string, args: Record<string, unknown>, assume = false) =>
      mockInvoke(
        token,
        args,
        assume ? { ...ctx, assumeInstanceType: assumedInstanceTypeFacts } : ctx,
      );
    const getType = "aws:ec2/getInstanceType:getInstanceType";
    const offerings = "aws:ec2/getInstanceTypeOfferings:getInstanceTypeOfferings";
    const filter = { filters: [{ name: "instance-type", values: ["c6i.2xlarge"] }] };
    expect(() => ask(getType, { instanceType: "c6i.2xlarge" })).toThrow("InvalidInstanceType");
    expect(ask(offerings, filter).locations).toEqual([]);
    expect(ask(getType, { instanceType: "c6i.2xlarge" }, true)).toEqual({
      defaultVcpus: 8,
      memorySize: 32768,
      supportedArchitectures: ["x86_64"],
    });
    expect(ask(offerings, filter, true).locations).toEqual(zonesOf("us-east-1"));
    // A listed type keeps its real offerings: us-east-1e lacks the newer types.
    const m7i = { filters: [{ name: "instance-type", values: ["m7i.large"] }] };
    expect(ask(offerings, m7i, true).locations).not.toContain("us-east-1e");
  });
});

describe("the output folder", () => {
  const small = () => project("small", { "aws:region": "us-east-1" });

  test("a previous render is replaced: files of a node or step that is gone do not stay", async () => {
    const dir = small();
    const outDir = path.join(dir, "out");
    const first = await renderPlan("small", outDir, dir);
    fs.mkdirSync(path.join(outDir, "k8s-small-worker-9"));
    fs.writeFileSync(path.join(outDir, "k8s-small-worker-9", "join.sh"), "echo stale\n");
    fs.writeFileSync(path.join(outDir, "k8s-small-cp-0", "old-step.sh"), "echo stale\n");
    const second = await renderPlan("small", outDir, dir);
    expect(second.files).toEqual(first.files);
    expect(listFiles(outDir)).toEqual(second.files);
  });

  test("the same stack renders byte for byte the same", async () => {
    const dir = small();
    await renderPlan("small", path.join(dir, "a"), dir);
    await renderPlan("small", path.join(dir, "b"), dir);
    expect(listFiles(path.join(dir, "b"))).toEqual(listFiles(path.join(dir, "a")));
    expect(readAll(path.join(dir, "b"))).toEqual(readAll(path.join(dir, "a")));
  });

  test("a folder that is not a render is refused and left as it was", async () => {
    const dir = small();
    const outDir = path.join(dir, "mine");
    fs.mkdirSync(outDir);
    fs.writeFileSync(path.join(outDir, "notes.txt"), "keep me\n");
    await expect(renderPlan("small", outDir, dir)).rejects.toThrow(
      `refusing to empty ${outDir}: it is not empty and holds no ${SUMMARY_FILE}`,
    );
    expect(listFiles(outDir)).toEqual(["notes.txt"]);
    // Nor is the project folder itself (it has no summary either).
    await expect(renderPlan("small", dir, dir)).rejects.toThrow("refusing to empty");
    expect(fs.existsSync(path.join(dir, "Pulumi.small.yaml"))).toBe(true);
  });

  test("a render in the earlier layout (no summary, folders of scripts) is replaced", async () => {
    const dir = small();
    const outDir = path.join(dir, "old");
    for (const f of ["cluster/cni.sh", "k8s-small-cp-0/init.sh", "k8s-small-cp-0/init.stdin"]) {
      fs.mkdirSync(path.dirname(path.join(outDir, f)), { recursive: true });
      fs.writeFileSync(path.join(outDir, f), "old\n");
    }
    const result = await renderPlan("small", outDir, dir);
    expect(listFiles(outDir)).toEqual(result.files);
  });

  test("a refused stack leaves the previous render untouched", async () => {
    const dir = small();
    const outDir = path.join(dir, "out");
    const first = await renderPlan("small", outDir, dir);
    fs.writeFileSync(
      path.join(dir, "Pulumi.small.yaml"),
      'config:\n  aws:region: us-west-1\n  kubeadm-aws:availabilityZoneCount: 3\n  kubeadm-aws:sshIngressCidrs: ["10.20.0.0/16"]\n',
    );
    await expect(renderPlan("small", outDir, dir)).rejects.toThrow("availabilityZoneCount 3");
    expect(listFiles(outDir)).toEqual(first.files);
  });

  test("a stack without a stack file names the ones there are", async () => {
    const dir = small();
    await expect(renderPlan("staging", path.join(dir, "out"), dir)).rejects.toThrow(
      `there is no Pulumi.staging.yaml in ${dir}; the stack files are Pulumi.small.yaml`,
    );
  });
});

test("bootstrap order: dependencies first, ready steps by name, cycles refused", () => {
  const step = (resource: string, ...after: string[]) => ({ resource, after });
  const order = bootstrapOrder([
    step("c-join", "b-creds"),
    step("b-creds", "a-init", "b-prepare"),
    step("b-prepare"),
    step("a-init", "a-prepare"),
    step("a-prepare"),
    step("z-ready", "c-join", "network"),
  ]).map((s) => s.resource);
  expect(order).toEqual(["a-prepare", "a-init", "b-prepare", "b-creds", "c-join", "z-ready"]);
  expect(() => bootstrapOrder([step("a", "b"), step("b", "a")])).toThrow("cycle: a, b");
});
