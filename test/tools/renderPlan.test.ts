/**
 * `npm run render`: evaluates the program for each stack file without cloud access and writes
 * what will run on each machine. The output must pass shellcheck and hold no secret.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderPlan } from "../../tools/renderPlan";
import { mockToken } from "../../tools/mockCloud";

const root = path.resolve(__dirname, "..", "..");
const out = fs.mkdtempSync(path.join(os.tmpdir(), "kubeadm-aws-render-"));
const rendered: Record<string, string[]> = {};

beforeAll(async () => {
  for (const stack of ["dev", "prod"]) {
    rendered[stack] = await renderPlan(stack, path.join(out, stack), root);
  }
});

afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

const read = (stack: string, rel: string) => fs.readFileSync(path.join(out, stack, rel), "utf8");

test("dev renders one control plane and one worker with Flannel", () => {
  expect(rendered.dev).toEqual(
    expect.arrayContaining([
      "k8s-dev-cp-0/wait-ready.sh",
      "k8s-dev-cp-0/prepare.sh",
      "k8s-dev-cp-0/init.sh",
      "k8s-dev-cp-0/init.stdin",
      "k8s-dev-cp-0/kubeadm-init.yaml",
      "k8s-dev-worker-0/join.sh",
      "k8s-dev-worker-0/join.stdin",
      "k8s-dev-worker-0/kubeadm-join.yaml",
      "k8s-dev-worker-0/member.sh",
      "k8s-dev-worker-0/member.delete.sh",
      "cluster/cni.sh",
      "cluster/cluster-ready.sh",
      "cluster/kubeconfig.sh",
    ]),
  );
  expect(read("dev", "cluster/cni.sh")).toContain("readonly CNI=flannel");
});

test("prod renders three control planes, three workers and Calico's resources", () => {
  const joins = rendered.prod!.filter((f) => f.endsWith("/join.sh"));
  expect(joins).toHaveLength(5);
  expect(rendered.prod).toContain("cluster/calico-resources.yaml");
  expect(read("prod", "k8s-prod-cp-2/kubeadm-join.yaml")).toContain("controlPlane:");
  expect(read("prod", "k8s-prod-worker-2/kubeadm-join.yaml")).not.toContain("controlPlane:");
});

test("my-ip renders as a documentation address, never a real one or 0.0.0.0/0", () => {
  // The dev stack's SSH CIDR is my-ip; rendering resolves it without the network.
  const all = rendered.dev!.map((f) => read("dev", f)).join("\n");
  expect(all).not.toContain("0.0.0.0/0");
});

test("secrets are placeholders: stdin files name their entries only", () => {
  expect(read("prod", "k8s-prod-cp-1/join.stdin")).toBe(
    "certificate-key <secret>\ntoken <secret>\n",
  );
  for (const stack of ["dev", "prod"]) {
    // Every token the mock creds commands of this stack printed.
    const tokens = rendered[stack]!.filter((f) => f.endsWith("/creds.sh")).map((f) =>
      mockToken(`${path.dirname(f)}-creds`),
    );
    expect(tokens.length).toBeGreaterThan(0);
    for (const f of rendered[stack]!) {
      const text = read(stack, f);
      for (const token of tokens) expect(text).not.toContain(token);
      expect(text).not.toContain("PRIVATE KEY");
    }
  }
});

test("every rendered script passes bash -n, and one of each kind passes shellcheck", () => {
  const scripts = ["dev", "prod"].flatMap((s) =>
    rendered[s]!.filter((f) => f.endsWith(".sh")).map((f) => path.join(out, s, f)),
  );
  expect(scripts.length).toBeGreaterThan(40);
  for (const s of scripts) execFileSync("bash", ["-n", s]);
  // Scripts of one kind differ only in their parameter values; linting one of each keeps this fast.
  const kinds = new Map<string, string>();
  // prod (last) has every kind dev has, plus control-plane joins and Calico.
  for (const s of scripts) kinds.set(path.basename(s), s);
  try {
    execFileSync("shellcheck", ["-s", "bash", ...kinds.values()], { stdio: "pipe" });
  } catch (err) {
    throw new Error(String((err as { stdout?: Buffer }).stdout ?? err));
  }
});
