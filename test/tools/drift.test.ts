/**
 * The drift report over a real SSH path: OpenSSH's sshd on loopback (test/support/loopbackSshd),
 * the ssh2 client of tools/nodeShell.ts through it as the bastion and as two nodes (127.0.0.2,
 * 127.0.0.3), each node a sandbox root with its own step files and certificates, the probe
 * (guest/drift-probe.sh) reading them with the guest doubles (kubelet, kubeadm, containerd,
 * kubectl). Checked: the report's findings, the command's exit code (0 clean, 1 on drift), and
 * that a rendered remote invocation carries its secret bundle on stdin through the heredoc
 * wrapper and sudo into the step, with the secret in no file and no log.
 */
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { remoteInvocation, renderSecretBundle } from "../../render/script";
import {
  collectDrift,
  driftTable,
  DriftOutputs,
  Finding,
  plannedStepFile,
} from "../../tools/drift";
import type { NodeShell } from "../../tools/etcdRestore";
import { driftFromFile } from "../../tools/driftCommand";
import { bastionShell } from "../../tools/nodeShell";
import { libScript } from "../guest/sandbox";
import { CLUSTER_KUBECONFIG } from "../guest/params";
import { LoopbackSshd, startLoopbackSshd } from "../support/loopbackSshd";
import { selfSignedCertificate } from "../support/selfSignedCertificate";

const ROOT = path.join(__dirname, "..", "..");
const sha = (text: string) => createHash("sha256").update(text).digest("hex");
const STEP_FILE = "/var/lib/kubeadm-aws/steps/prepare-k8s-dev-cp-0.sh";
const JOIN_FILE = "/var/lib/kubeadm-aws/steps/join-k8s-dev-cp-0.sh";
const joinAt = (version: string) => `readonly KUBERNETES_VERSION=${version}\necho join\n`;
/** The plan's hashes of a step file: its sha256, and that with the version line blanked. */
const planned = (text: string) => ({
  sha256: sha(text),
  unversioned: sha(
    text.replace(/^readonly KUBERNETES_VERSION=.*$/m, "readonly KUBERNETES_VERSION="),
  ),
});
const recent = () => new Date(Date.now() - 5 * 60_000).toISOString().replace(/\.\d+Z$/, "Z");

function sandbox(files: Record<string, string>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "kubeadm-aws-node-"));
  for (const dir of ["run", "var/lib/kubeadm-aws/steps", "etc/kubernetes/pki"]) {
    fs.mkdirSync(path.join(root, dir), { recursive: true });
  }
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  }
  return root;
}

/** A real certificate, valid for DAYS, at FILE under ROOT (openssl, as on the node). */
function certificate(root: string, file: string, days: number): void {
  fs.writeFileSync(path.join(root, file), selfSignedCertificate(days, "kube-apiserver"));
}

const nodes = [
  { name: "k8s-dev-cp-0", role: "control-plane", privateIp: "127.0.0.2", nodeName: "ip-10-0-0-10" },
  { name: "k8s-dev-worker-0", role: "worker", privateIp: "127.0.0.3", nodeName: "ip-10-0-0-20" },
];

test("the plan's sha256 of a step is that of the file its invocation writes", () => {
  const script = "#!/usr/bin/env bash\nreadonly KUBERNETES_VERSION=1.34.2\necho hi\n\n";
  expect(plannedStepFile(remoteInvocation("prepare", script, "k8s-dev-cp-0"))).toEqual({
    path: "/var/lib/kubeadm-aws/steps/prepare-k8s-dev-cp-0.sh",
    ...planned("#!/usr/bin/env bash\nreadonly KUBERNETES_VERSION=1.34.2\necho hi\n"),
  });
  expect(plannedStepFile("echo not a step")).toBeUndefined();
});

describe("the drift report over real sshd", () => {
  let sshd: LoopbackSshd;
  let findings: Finding[];
  const roots: Record<string, string> = {};

  beforeAll(async () => {
    sshd = await startLoopbackSshd({
      DOUBLE_NODES: "ip-10-0-0-10=True ip-10-0-0-20=False",
      DOUBLE_ETCD_PODS: "etcd-ip-10-0-0-10 ip-10-0-0-10 True",
      DOUBLE_ETCD_MEMBERS:
        "8e9e05c52164694d, started, ip-10-0-0-10, https://127.0.0.2:2380, https://127.0.0.2:2379, false",
      DOUBLE_LAST_SNAPSHOT: recent(),
    });
    roots["127.0.0.1"] = sandbox({});
    // cp-0 was built at 1.34.1 and upgraded in place: its join file still says 1.34.1.
    roots["127.0.0.2"] = sandbox({ [STEP_FILE]: "echo prepare\n", [JOIN_FILE]: joinAt("1.34.1") });
    roots["127.0.0.3"] = sandbox({
      [STEP_FILE.replace("cp-0", "worker-0")]: "echo edited on the node\n",
    });
    certificate(roots["127.0.0.2"]!, "etc/kubernetes/pki/apiserver.crt", 365);
    certificate(roots["127.0.0.2"]!, "etc/kubernetes/pki/front-proxy-client.crt", 10);
    const inner = await bastionShell({
      bastionHost: "127.0.0.1",
      bastionUser: sshd.user,
      nodeUser: sshd.user,
      privateKey: sshd.privateKey,
      port: sshd.port,
    });
    // Each machine's sandbox root, as its own / .
    const shell: NodeShell = {
      run: (host, command, stdin) =>
        inner.run(host, `KUBEADM_AWS_ROOT=${roots[host]} ${command}`, stdin),
    };
    const outputs: DriftOutputs = {
      kubernetesVersion: "1.34.2",
      nodes,
      bastionIp: "127.0.0.1",
      kubeconfig: CLUSTER_KUBECONFIG,
      etcdBackup: { intervalMinutes: 15 },
    };
    const plan = new Map([
      [
        "127.0.0.2",
        new Map([
          [STEP_FILE, planned("echo prepare\n")],
          [JOIN_FILE, planned(joinAt("1.34.2"))],
        ]),
      ],
      ["127.0.0.3", new Map([[STEP_FILE.replace("cp-0", "worker-0"), planned("echo prepare\n")]])],
    ]);
    try {
      findings = await collectDrift({ outputs, plan }, shell);
    } finally {
      inner.close();
    }
  }, 60_000);

  afterAll(async () => {
    await sshd?.stop();
    for (const r of Object.values(roots)) fs.rmSync(r, { recursive: true, force: true });
  });

  const find = (machine: string, check: string) =>
    findings.find((f) => f.machine === machine && f.check === check);

  test("reads each node's versions, and the runtime", () => {
    expect(find("k8s-dev-cp-0", "kubelet")).toMatchObject({ actual: "v1.34.2", status: "ok" });
    expect(find("k8s-dev-worker-0", "kubeadm")).toMatchObject({ actual: "v1.34.2", status: "ok" });
    expect(find("k8s-dev-cp-0", "runtime")?.actual).toBe("containerd 1.7.28");
  });

  test("compares every step file with the plan's sha256", () => {
    expect(find("k8s-dev-cp-0", "file prepare-k8s-dev-cp-0.sh")?.status).toBe("ok");
    expect(find("k8s-dev-worker-0", "file prepare-k8s-dev-worker-0.sh")).toMatchObject({
      expected: sha("echo prepare\n").slice(0, 12),
      actual: sha("echo edited on the node\n").slice(0, 12),
      status: "drift",
    });
  });

  test("a step file that differs in its Kubernetes version only is an upgrade in place, not drift", () => {
    expect(find("k8s-dev-cp-0", "file join-k8s-dev-cp-0.sh")).toMatchObject({
      expected: sha(joinAt("1.34.2")).slice(0, 12),
      actual: `${sha(joinAt("1.34.1")).slice(0, 12)}: an older kubernetesVersion only (upgraded in place)`,
      status: "info",
    });
  });

  test("reads certificate expiry dates, and flags one within 30 days", () => {
    expect(find("k8s-dev-cp-0", "cert apiserver.crt")?.status).toBe("ok");
    expect(find("k8s-dev-cp-0", "cert front-proxy-client.crt")).toMatchObject({ status: "drift" });
    expect(find("k8s-dev-cp-0", "cert front-proxy-client.crt")?.actual).toMatch(/\(9|10 days\)/);
  });

  test("compares Node objects, etcd members and the last snapshot with the stack", () => {
    expect(find("k8s-dev-cp-0", "Node object")?.status).toBe("ok");
    expect(find("k8s-dev-worker-0", "Node object")).toMatchObject({
      actual: "Ready=False",
      status: "drift",
    });
    expect(find("cluster", "etcd members")).toMatchObject({
      expected: "ip-10-0-0-10",
      status: "ok",
    });
    expect(find("cluster", "last etcd snapshot")?.status).toBe("ok");
  });

  test("prints one table, drifted rows first", () => {
    const table = driftTable(findings);
    const lines = table.split("\n");
    expect(lines[0]).toMatch(/^machine\s+check\s+expected\s+actual\s+status$/);
    expect(lines[2]).toContain("DRIFT");
    expect(table).toContain("3 drifted.");
  });
});

describe("the drift command's exit code, and a remote invocation's stdin, over real sshd", () => {
  let sshd: LoopbackSshd;
  let root: string;
  let keyFile: string;

  beforeAll(async () => {
    root = sandbox({ [STEP_FILE]: "echo prepare\n" });
    sshd = await startLoopbackSshd({
      KUBEADM_AWS_ROOT: root,
      DOUBLE_NODES: "ip-10-0-0-10=True",
      DOUBLE_ETCD_PODS: "etcd-ip-10-0-0-10 ip-10-0-0-10 True",
      DOUBLE_ETCD_MEMBERS:
        "8e9e05c52164694d, started, ip-10-0-0-10, https://127.0.0.2:2380, https://127.0.0.2:2379, false",
    });
    keyFile = path.join(sshd.dir, "saved.json");
  }, 30_000);

  afterAll(async () => {
    await sshd?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** The saved input of `drift --outputs`: one node whose step file the plan has as PLANNED. */
  function saveInput(planned: string): void {
    const saved = {
      sshPort: sshd.port,
      outputs: {
        kubernetesVersion: "1.34.2",
        nodes: [nodes[0]],
        bastionIp: "127.0.0.1",
        bastionUser: sshd.user,
        sshUser: sshd.user,
        sshPrivateKey: sshd.privateKey,
        kubeconfig: CLUSTER_KUBECONFIG,
      },
      plan: { "127.0.0.2": { [STEP_FILE]: sha(planned) } },
    };
    fs.writeFileSync(keyFile, JSON.stringify(saved), { mode: 0o600 });
  }

  test("reports no drift when the machines match the plan", async () => {
    saveInput("echo prepare\n");
    const printed: string[] = [];
    await driftFromFile(keyFile, { command: "drift", stack: "dev", yes: false }, (l) =>
      printed.push(l),
    );
    expect(printed.join("\n")).toContain("no drift");
  }, 60_000);

  test("the command exits 1 when a file drifted, after printing the table", () => {
    // The whole command, in its own process: the exit code is what a scheduled job sees.
    saveInput("echo the plan moved on\n");
    const r = spawnSync(
      process.execPath,
      ["-r", "ts-node/register/transpile-only", "tools/deploy.ts", "drift", "--outputs", keyFile],
      { cwd: ROOT, encoding: "utf8", timeout: 60_000 },
    );
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("1 drifted.");
    expect(r.stderr).toContain("1 finding(s) drifted from the plan");
  }, 120_000);

  test("a remote invocation's secret bundle reaches the step through the heredoc and sudo, and no file or log", async () => {
    const secret = "kubeconfig-secret-value-XYZ";
    const script = libScript(
      [
        "make_private_dir dir",
        'read_secret_bundle "${dir}/s"',
        'require_secret "${dir}/s" kubeconfig',
        'emit_line "sha $(sha256sum "${dir}/s/kubeconfig" | cut -d" " -f1)"',
      ].join("\n"),
      "cluster-ready",
    );
    const shell = await bastionShell({
      bastionHost: "127.0.0.1",
      bastionUser: sshd.user,
      nodeUser: sshd.user,
      privateKey: sshd.privateKey,
      port: sshd.port,
    });
    try {
      const r = await shell.run(
        "127.0.0.2",
        remoteInvocation("cluster-ready", script, "stdin-check"),
        Buffer.from(renderSecretBundle({ kubeconfig: secret })),
      );
      expect(r.code).toBe(0);
      expect(r.output).toContain(`sha ${sha(secret)}`);
      expect(r.output).toContain("read 1 secret(s) from stdin: kubeconfig");
      expect(r.output).not.toContain(secret);
      const written = fs.readFileSync(
        path.join(root, "var/lib/kubeadm-aws/steps/cluster-ready-stdin-check.sh"),
        "utf8",
      );
      expect(written).toBe(`${script.replace(/\n*$/, "")}\n`);
      expect(written).not.toContain(secret);
      expect(fs.readFileSync(sshd.doubleLog, "utf8")).not.toContain(secret);
    } finally {
      shell.close();
    }
  }, 60_000);
});
