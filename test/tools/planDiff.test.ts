/**
 * The guest-plan differ on two real renders of the dev stack: the base as committed, the head
 * with kubernetesVersion 1.35.0 and a second worker, plus one edited step body. The report must
 * name each node and step, say which changes reach the running machines (triggers changed) and
 * which only new and replaced nodes, call the version change a rolling upgrade, and fold diffs.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { COMMENT_MARKER, diffStack, main, renderReport } from "../../tools/planDiff";
import { renderPlan } from "../../tools/renderPlan";

const root = path.join(__dirname, "..", "..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kubeadm-aws-plan-diff-"));
const base = path.join(tmp, "base");
const head = path.join(tmp, "head");
let report = "";

beforeAll(async () => {
  await renderPlan("dev", path.join(base, "dev"), root);
  // The head: the same project with a changed stack file.
  const project = path.join(tmp, "project");
  fs.mkdirSync(project);
  fs.copyFileSync(path.join(root, "Pulumi.yaml"), path.join(project, "Pulumi.yaml"));
  const dev = fs
    .readFileSync(path.join(root, "Pulumi.dev.yaml"), "utf8")
    .replace('kubernetesVersion: "1.34.2"', 'kubernetesVersion: "1.35.0"')
    .replace(/(kubeadm-aws:workers:\n\s+count:) 1/, "$1 2");
  fs.writeFileSync(path.join(project, "Pulumi.dev.yaml"), dev);
  await renderPlan("dev", path.join(head, "dev"), project);
  // An edited step body, as a guest script change in a pull request would make it.
  const wait = path.join(head, "dev", "k8s-dev-cp-0", "wait-ready.sh");
  fs.writeFileSync(wait, `${fs.readFileSync(wait, "utf8")}\n# an edit\n`);
  report = renderReport([diffStack("dev", base, head)]);
}, 60_000);

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const row = (file: string) => report.split("\n").find((l) => l.includes(`| ${file} |`)) ?? "";

test("a parameter change without a trigger change reaches new and replaced nodes only", () => {
  expect(row("prepare.sh")).toMatch(
    /^\| k8s-dev-cp-0 \| prepare\.sh \| .*KUBERNETES_VERSION: 1\.34\.2 → 1\.35\.0.* \| new and replaced nodes only/,
  );
  expect(row("wait-ready.sh")).toMatch(/script body changed \| new and replaced nodes only/);
});

test("adding a worker leaves the running nodes' addresses and names alone", () => {
  // The mock derives each address from the instance's name, as a real node keeps its own.
  expect(report).not.toMatch(/NODE_NAME: ip-|CONTROL_PLANE_IPS:/);
});

test("a step whose triggers change runs again on the running machine", () => {
  expect(row("bastion-tools.sh")).toContain(
    "triggers: k8s-dev-bastion-id, 1.34.2 → k8s-dev-bastion-id, 1.35.0",
  );
  expect(row("bastion-tools.sh")).toContain("**runs again on the running machine**");
  expect(row("cloud-controller.sh")).toContain("triggers: v1.34.3 → v1.35.2");
});

test("new steps are named as new, and the version change as a rolling upgrade", () => {
  expect(report).toMatch(
    /\| k8s-dev-worker-1 \| join\.sh \| step added \| new step: runs in the next `up` \|/,
  );
  expect(report).toContain(
    '- kubernetesVersion 1.34.2 → 1.35.0: on a running cluster, a rolling upgrade of every node (README "Upgrading Kubernetes")',
  );
});

test("each file's diff is folded under its name, and the comment carries its marker", () => {
  expect(report.startsWith(COMMENT_MARKER)).toBe(true);
  expect(report).toContain("<details><summary>k8s-dev-cp-0/prepare.sh</summary>");
  expect(report).toMatch(
    /-readonly KUBERNETES_VERSION=1\.34\.2\n[\s\S]*\+readonly KUBERNETES_VERSION=1\.35\.0/,
  );
  expect(report).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/);
});

test("identical renders report no change; the command writes the file", () => {
  const same = renderReport([diffStack("dev", base, base)]);
  expect(same).toContain("No change inside the guests.");
  const out = path.join(tmp, "report.md");
  expect(main([base, head, "--out", out])).toBe(0);
  expect(fs.readFileSync(out, "utf8")).toContain("### Stack `dev`");
  expect(main([base])).toBe(2);
});
