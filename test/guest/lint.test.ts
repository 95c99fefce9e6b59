/**
 * Every rendered step passes `bash -n` and shellcheck with zero findings. shellcheck is required
 * (CI installs the Debian package), so its absence fails the suite instead of skipping it.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

import { GUEST_DIR, renderScript, STEPS } from "../../render/script";
import * as steps from "../../render/steps";
import { DOUBLES_DIR, hasProgram } from "./sandbox";
import {
  calicoInputs,
  initInputs,
  joinInputs,
  CONTROL_PLANE_PORTS,
  prepareCriDockerdInputs,
  SECRET_MARKERS,
} from "./params";

/**
 * One rendering per step: the variants of a step differ only in the parameter header, and
 * shellcheck takes ~0.4 s per rendered file, so linting each variant would only cost time.
 */
const RENDERED: ReadonlyArray<readonly [string, string]> = [
  ["wait-ready", steps.renderWaitReady({ timeoutSeconds: 900, packageManager: "apt" })],
  ["prepare", steps.renderPrepare(prepareCriDockerdInputs)],
  // The dnf variants: another package library, and prepare's SELinux and firewalld settings.
  [
    "prepare (dnf, enforcing, cluster ports, cri-dockerd)",
    steps.renderPrepare({
      ...prepareCriDockerdInputs,
      packageManager: "dnf",
      rhel: {
        selinux: "enforcing",
        firewalld: "cluster-ports",
        firewallPorts: CONTROL_PLANE_PORTS,
      },
    }),
  ],
  ["wait-ready (dnf)", steps.renderWaitReady({ timeoutSeconds: 900, packageManager: "dnf" })],
  [
    "bastion-tools (dnf)",
    steps.renderBastionTools({ kubernetesVersion: "1.34.2", packageManager: "dnf" }),
  ],
  [
    "upgrade-node (dnf)",
    steps.renderUpgradeNode({
      mode: "check",
      kubeadmAction: "node",
      role: "worker",
      packageManager: "dnf",
      targetVersion: "1.35.0",
      timeoutSeconds: 600,
    }),
  ],
  [
    "bastion-tools",
    steps.renderBastionTools({ kubernetesVersion: "1.34.2", packageManager: "apt" }),
  ],
  ["init", steps.renderInit(initInputs)],
  [
    "etcd-prune",
    steps.renderEtcdPrune({
      controlPlaneIps: ["192.0.2.10", "192.0.2.11", "192.0.2.12"],
      apiEndpointHost: "api.k8s-test.k8s.internal",
      apiWaitSeconds: 300,
    }),
  ],
  ["join", steps.renderJoin(joinInputs("control-plane"))],
  [
    "register-node",
    steps.renderRegisterNode({ nodeName: "ip-192-0-2-21", role: "worker", timeoutSeconds: 300 }),
  ],
  ["cni", steps.renderCni(calicoInputs)],
  [
    "helm-release",
    steps.renderHelmRelease({
      releaseName: "aws-ebs-csi-driver",
      namespace: "kube-system",
      chartUrl: "https://example.com/charts/aws-ebs-csi-driver-2.63.1.tgz",
      chartSha256: "f".repeat(64),
      values: "controller:\n  region: us-east-1\n",
      rollouts: ["deployment/ebs-csi-controller", "daemonset/ebs-csi-node"],
      timeoutSeconds: 600,
    }),
  ],
  [
    "cluster-ready",
    steps.renderClusterReady({
      nodeNames: ["ip-192-0-2-10.ec2.internal", "ip-192-0-2-11.ec2.internal"],
      timeoutSeconds: 900,
    }),
  ],
  [
    "release-cloud-resources",
    steps.renderReleaseCloudResources({
      mode: "release",
      apiWaitSeconds: 60,
      releaseTimeoutSeconds: 300,
    }),
  ],
  [
    "upgrade-preflight",
    steps.renderUpgradePreflight({ targetVersion: "1.35.0", apiWaitSeconds: 60 }),
  ],
  [
    "upgrade-node",
    steps.renderUpgradeNode({
      mode: "upgrade",
      kubeadmAction: "apply",
      role: "control-plane",
      packageManager: "apt",
      targetVersion: "1.35.0",
      timeoutSeconds: 600,
    }),
  ],
  [
    "node-rollout",
    steps.renderNodeRollout({
      phase: "drain",
      nodeName: "ip-192-0-2-12.ec2.internal",
      targetVersion: "1.35.0",
      reason: "upgrade to 1.35.0",
      drainTimeoutSeconds: 300,
      waitTimeoutSeconds: 600,
    }),
  ],
  [
    "node-timers",
    steps.renderNodeTimers({
      snapshot: { script: "echo snapshot", service: "[Service]", timer: "[Timer]" },
      renewal: { script: "echo renewal", service: "[Service]", timer: "[Timer]" },
    }),
  ],
  // The timer jobs in full: what runs once their `source` of the installed libraries resolves.
  [
    "etcd-snapshot",
    renderScript("etcd-snapshot", {
      BUCKET: "k8s-prod-etcd-20261204000000000000000001",
      REGION: "us-east-1",
      PREFIX: "k8s-prod/etcd/",
      NODE_NAME: "ip-192-0-2-10.ec2.internal",
    }),
  ],
  [
    "cert-renewal",
    renderScript("cert-renewal", {
      NODE_NAME: "ip-192-0-2-10.ec2.internal",
      RENEW_WITHIN_DAYS: 30,
      GUARD_STALE_SECONDS: 3600,
      WAIT_TIMEOUT_SECONDS: 300,
    }),
  ],
  ["drift-probe", renderScript("drift-probe", { MODE: "cluster", RUNTIME: "containerd" })],
  [
    "etcd-restore",
    steps.renderEtcdRestore({
      mode: "restore",
      snapshotPath: "/var/lib/kubeadm-aws/restore/snapshot.db",
      snapshotSha256: "a".repeat(64),
      nodeName: "ip-192-0-2-10.ec2.internal",
      nodeIp: "192.0.2.10",
      initialCluster: "ip-192-0-2-10.ec2.internal=https://192.0.2.10:2380",
      clusterToken: "restore-1",
      waitTimeoutSeconds: 300,
    }),
  ],
  [
    "remove-node",
    steps.renderRemoveNode({
      nodeName: "ip-192-0-2-12",
      nodeIp: "192.0.2.12",
      role: "control-plane",
      drainTimeoutSeconds: 120,
      apiWaitSeconds: 60,
    }),
  ],
];

interface Finding {
  line: number;
  code: number;
  level: string;
  message: string;
}

interface Json1 {
  comments: (Finding & { file: string })[];
}

/** Runs shellcheck on some files in the background; resolves with its findings. */
function shellcheck(files: string[]): Promise<(Finding & { file: string })[]> {
  return new Promise((resolve, reject) => {
    const child = spawn("shellcheck", ["-s", "bash", "-x", "-f", "json1", ...files], {
      cwd: DOUBLES_DIR,
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.on("error", reject);
    child.on("close", () => {
      try {
        resolve((JSON.parse(out) as Json1).comments);
      } catch (e) {
        reject(new Error(`shellcheck printed no JSON: ${String(e)}: ${out}`));
      }
    });
  });
}

/** The test doubles (bash, no extension) and their shared prelude. */
const DOUBLES = fs
  .readdirSync(DOUBLES_DIR)
  .filter((entry) => !entry.includes(".") || entry.endsWith(".sh"))
  .map((entry) => path.join(DOUBLES_DIR, entry))
  .filter((file) => fs.statSync(file).isFile());

/** The guest files as they are in guest/, each linted on its own as an editor's shellcheck does. */
const GUEST_FILES = fs
  .readdirSync(GUEST_DIR)
  .filter((entry) => entry.endsWith(".sh"))
  .map((entry) => path.join(GUEST_DIR, entry));

let dir: string;
const findings = new Map<string, Finding[]>();
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "kubeadm-aws-lint-"));
  const files = RENDERED.map(([name, script]) => {
    const file = path.join(dir, `${name}.sh`);
    fs.writeFileSync(file, script);
    return file;
  });
  for (const file of [...files, ...DOUBLES, ...GUEST_FILES]) {
    findings.set(file, []);
  }
  if (!hasProgram("shellcheck")) {
    return;
  }
  // Two halves in parallel: shellcheck is single-threaded and the slowest part of this suite.
  const half = Math.ceil(files.length / 2);
  const results = await Promise.all([
    shellcheck(files.slice(0, half)),
    shellcheck([...files.slice(half), ...DOUBLES, ...GUEST_FILES]),
  ]);
  for (const finding of results.flat()) {
    findings.get(finding.file)?.push(finding);
  }
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test("shellcheck is installed (CI installs the Debian package)", () => {
  expect(hasProgram("shellcheck")).toBe(true);
});

test("every step is rendered and linted", () => {
  // Each step once; a package step also in its dnf variant ("<step> (dnf...)").
  const names = RENDERED.map(([name]) => name);
  expect([...new Set(names.map((n) => n.split(" ")[0]!))].sort()).toEqual([...STEPS].sort());
  expect(
    names
      .filter((n) => n.includes("(dnf"))
      .map((n) => n.split(" ")[0])
      .sort(),
  ).toEqual(["bastion-tools", "prepare", "upgrade-node", "wait-ready"]);
});

describe.each(RENDERED)("rendered %s", (name, script) => {
  const file = (): string => path.join(dir, `${name}.sh`);

  test("parses with bash -n", () => {
    const result = spawnSync("bash", ["-n", file()], { encoding: "utf8" });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  test("has no shellcheck findings, the generated parameter header included", () => {
    const real = (findings.get(file()) ?? []).map(
      (f) => `line ${f.line}: SC${f.code} (${f.level}) ${f.message}`,
    );
    expect(real).toEqual([]);
  });

  test("keeps secrets out of the script text", () => {
    for (const marker of SECRET_MARKERS) {
      expect(script).not.toContain(marker);
    }
    expect(script).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY/);
  });
});

test("every guest file is shellcheck-clean on its own too, as an editor lints it", () => {
  expect(GUEST_FILES.length).toBeGreaterThan(20);
  const real = GUEST_FILES.flatMap((file) =>
    (findings.get(file) ?? []).map(
      (f) => `${path.basename(file)}:${f.line}: SC${f.code} (${f.level}) ${f.message}`,
    ),
  );
  expect(real).toEqual([]);
});

test("the test doubles are shellcheck-clean too", () => {
  expect(DOUBLES.length).toBeGreaterThan(10);
  const real = DOUBLES.flatMap((file) =>
    (findings.get(file) ?? []).map(
      (f) => `${path.basename(file)}:${f.line}: SC${f.code} (${f.level}) ${f.message}`,
    ),
  );
  expect(real).toEqual([]);
});
