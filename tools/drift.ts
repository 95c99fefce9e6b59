/**
 * `npm run drift -- --stack S [--json]`: how far the live machines have drifted from the plan.
 * It reads, through the bastion and without changing anything (guest/drift-probe.sh):
 *   - on every node: the kubelet, kubeadm and container-runtime versions, the sha256 of every
 *     step file on disk against the plan's (the stack state's own command text), and the expiry
 *     of kubeadm's and the kubelet's certificates;
 *   - on the bastion, with the admin kubeconfig: the Node objects and their Ready conditions
 *     against the stack's nodes, the etcd members against its control planes, and the age of the
 *     last etcd snapshot.
 * It prints one table (or JSON) and exits 1 when anything drifted. A step file that differs is
 * expected after a guest script changed in a later version: it applies to new and replaced nodes
 * only, and the report says so.
 */
import { createHash } from "crypto";
import { parse as parseShell, quote } from "shell-quote";
import { innerScript } from "./renderPlan";
import type { ClusterOutputs, NodeShell } from "./etcdRestore";
import { renderScript, renderSecretBundle } from "../render/script";

export interface DriftOutputs {
  readonly kubernetesVersion: string;
  readonly containerRuntime?: string;
  readonly nodes: ClusterOutputs["nodes"];
  readonly bastionIp: string;
  /** The admin kubeconfig: the bastion's cluster facts read the API with it. */
  readonly kubeconfig: string;
  /** The private API endpoint: the bastion reaches the API there. */
  readonly privateApiEndpoint?: string;
  readonly etcdBackup?: { readonly intervalMinutes?: number };
}

/**
 * A planned file's sha256, and for a step file also that of its text with the
 * `readonly KUBERNETES_VERSION=` line blanked (`unversioned`): a node upgraded in place by a
 * rolling upgrade keeps the step files it was built with, which differ from the plan in that
 * line only, and that is not drift.
 */
export interface PlannedFile {
  readonly sha256: string;
  readonly unversioned?: string;
}

/** Planned files per node (private IP): path on the node -> its planned hashes. */
export type PlannedFiles = ReadonlyMap<string, ReadonlyMap<string, PlannedFile>>;

/** The blanked version line, as guest/drift-probe.sh blanks it (sed). */
const unversion = (text: string): string =>
  text.replace(/^readonly KUBERNETES_VERSION=.*$/gm, "readonly KUBERNETES_VERSION=");

const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

export type Status = "ok" | "drift" | "info";

export interface Finding {
  readonly machine: string;
  readonly check: string;
  readonly expected: string;
  readonly actual: string;
  readonly status: Status;
}

const CERT_WARN_DAYS = 30;
const DAY_MS = 86_400_000;

/** The file a remote step writes (render/script.ts remoteInvocation) and its content's sha256. */
export function plannedStepFile(
  invocation: string,
): ({ path: string } & Required<PlannedFile>) | undefined {
  const m = /sudo -n tee (\S+) >\/dev\/null <<'/.exec(invocation);
  if (!m) return undefined;
  // tee writes the heredoc's lines, each with its newline.
  const content = innerScript(invocation).replace(/\n*$/, "\n");
  return {
    path: m[1]!.replace(/^'|'$/g, ""),
    sha256: sha256(content),
    unversioned: sha256(unversion(content)),
  };
}

/**
 * The kubeadm configs a step writes (guest/init.sh INIT_CONFIG_FILE, guest/join.sh
 * JOIN_CONFIG_FILE), by the parameter that carries them. Both are written as
 * `<<<"${VALUE%$'\n'}"`: the value with exactly one trailing newline.
 */
const KUBEADM_FILES: Record<string, string> = {
  KUBEADM_CONFIG: "/etc/kubernetes/kubeadm/init.yaml",
  JOIN_CONFIG: "/etc/kubernetes/kubeadm/join.yaml",
};

const isKubeadmFile = (file: string): boolean => Object.values(KUBEADM_FILES).includes(file);

/** The kubeadm config files a rendered step writes, with their content's sha256. */
export function plannedKubeadmFiles(invocation: string): { path: string; sha256: string }[] {
  const header = innerScript(invocation).split("# ---- the shared libraries run here")[0] ?? "";
  const out: { path: string; sha256: string }[] = [];
  for (const [param, file] of Object.entries(KUBEADM_FILES)) {
    const start = `\nreadonly ${param}=`;
    const at = header.indexOf(start);
    if (at < 0) continue;
    // The value as render/script.ts shellWord quoted it; shell-quote reads it back.
    const [value] = parseShell(header.slice(at + start.length), (k) => `$${k}`);
    if (typeof value !== "string") continue;
    const content = `${value.replace(/\n$/, "")}\n`;
    out.push({ path: file, sha256: sha256(content) });
  }
  return out;
}

/**
 * A value of an exported checkpoint with its secret wrapper removed. @pulumi/command makes the
 * whole `connection` input secret (node_modules/@pulumi/command/remote/command.js: `pulumi.secret`
 * around it), and the Automation API's exportStack runs `pulumi stack export --show-secrets`
 * (node_modules/@pulumi/pulumi/automation/localWorkspace.js exportStack), which writes a secret as
 * `{<sig key>: "1b47061264138c4ac30d75cd0eb44297", plaintext: <its JSON>}`
 * (pulumi/pulumi pkg/resource/stack/deployment.go SerializePropertyValue). Without the plaintext
 * (an export without --show-secrets) the value stays unknown and the command is not planned.
 */
export function revealed(value: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const v = value as Record<string, unknown>;
  if (!Object.values(v).includes(SECRET_SIG)) return value;
  return typeof v.plaintext === "string" ? revealed(JSON.parse(v.plaintext)) : undefined;
}

const SECRET_SIG = "1b47061264138c4ac30d75cd0eb44297";

/** The plan's step files per node, from the stack state's remote commands. */
export function plannedFiles(
  resources: readonly { type: string; inputs?: Record<string, unknown> }[],
): PlannedFiles {
  const out = new Map<string, Map<string, PlannedFile>>();
  for (const r of resources) {
    if (r.type !== "command:remote:Command" || !r.inputs) continue;
    const host = (revealed(r.inputs.connection) as { host?: string } | undefined)?.host;
    const create = revealed(r.inputs.create);
    if (typeof host !== "string" || typeof create !== "string") continue;
    const file = plannedStepFile(create);
    if (!file) continue;
    if (!out.has(host)) out.set(host, new Map());
    out.get(host)!.set(file.path, { sha256: file.sha256, unversioned: file.unversioned });
    for (const k of plannedKubeadmFiles(create)) out.get(host)!.set(k.path, { sha256: k.sha256 });
  }
  return out;
}

const probe = (mode: "node" | "cluster", runtime: string): string =>
  `sudo -n bash -c ${quote([renderScript("drift-probe", { MODE: mode, RUNTIME: runtime })])}`;

function facts(output: string): string[][] {
  return output
    .split("\n")
    .filter((l) => /^(version|file|cert|node|member|snapshot) /.test(l))
    .map((l) => {
      const [kind, a, ...rest] = l.split(" ");
      return [kind!, a ?? "", rest.join(" ")];
    });
}

export interface DriftOptions {
  readonly outputs: DriftOutputs;
  readonly plan: PlannedFiles;
  readonly now?: Date;
}

/** The step and kubeadm files of one node against the plan. */
function fileFindings(
  planned: ReadonlyMap<string, PlannedFile>,
  onDisk: ReadonlyMap<string, PlannedFile>,
): Omit<Finding, "machine">[] {
  const out: Omit<Finding, "machine">[] = [];
  // A node has one kubeadm config: init.yaml where init ran, join.yaml where the join did (the
  // first control plane's join is a no-op on the instance that ran init).
  const kubeadmWritten = [...planned.keys()].some((f) => isKubeadmFile(f) && onDisk.has(f));
  for (const [file, want] of planned) {
    const have = onDisk.get(file);
    const check = `file ${file.split("/").pop()}`;
    const expected = want.sha256.slice(0, 12);
    if (have === undefined) {
      const notThisOne = isKubeadmFile(file) && kubeadmWritten;
      out.push({
        check,
        expected,
        actual: notThisOne ? "not written here (the other kubeadm step ran)" : "missing",
        status: notThisOne ? "info" : "drift",
      });
    } else if (have.sha256 === want.sha256) {
      out.push({ check, expected, actual: have.sha256.slice(0, 12), status: "ok" });
    } else if (want.unversioned !== undefined && have.unversioned === want.unversioned) {
      out.push({
        check,
        expected,
        actual: `${have.sha256.slice(0, 12)}: an older kubernetesVersion only (upgraded in place)`,
        status: "info",
      });
    } else {
      out.push({ check, expected, actual: have.sha256.slice(0, 12), status: "drift" });
    }
  }
  for (const [file, have] of onDisk) {
    if (planned.has(file)) continue;
    out.push({
      check: `file ${file.split("/").pop()}`,
      expected: "not in the plan",
      actual: have.sha256.slice(0, 12),
      status: "info",
    });
  }
  return out;
}

export async function collectDrift(o: DriftOptions, shell: NodeShell): Promise<Finding[]> {
  const now = o.now ?? new Date();
  const findings: Finding[] = [];
  const add = (f: Finding) => findings.push(f);
  const want = `v${o.outputs.kubernetesVersion}`;
  const runtime = o.outputs.containerRuntime ?? "containerd";

  for (const node of o.outputs.nodes) {
    const r = await shell.run(node.privateIp, probe("node", runtime));
    if (r.code !== 0) {
      add({
        machine: node.name,
        check: "reachable",
        expected: "the probe runs",
        actual: `exit ${r.code}`,
        status: "drift",
      });
      continue;
    }
    const seen = facts(r.output);
    for (const component of ["kubelet", "kubeadm"]) {
      const actual = seen.find((f) => f[0] === "version" && f[1] === component)?.[2] ?? "unknown";
      add({
        machine: node.name,
        check: component,
        expected: want,
        actual,
        status: actual === want ? "ok" : "drift",
      });
    }
    const rt = seen.find((f) => f[0] === "version" && f[1] === "runtime")?.[2] ?? "unknown";
    add({
      machine: node.name,
      check: "runtime",
      expected: runtime,
      actual: rt,
      status: rt.startsWith(runtime) ? "info" : "drift",
    });
    const onDisk = new Map(
      seen
        .filter((f) => f[0] === "file")
        .map((f) => {
          const [sha, unversioned] = f[2]!.split(" ");
          return [f[1]!, { sha256: sha!, unversioned }] as const;
        }),
    );
    for (const f of fileFindings(o.plan.get(node.privateIp) ?? new Map(), onDisk)) {
      add({ machine: node.name, ...f });
    }
    for (const [, file, end] of seen.filter((f) => f[0] === "cert")) {
      const days = Math.floor((Date.parse(end!) - now.getTime()) / DAY_MS);
      add({
        machine: node.name,
        check: `cert ${file!.split("/").pop()}`,
        expected: `> ${CERT_WARN_DAYS} days`,
        actual: `${end!.slice(0, 10)} (${days} days)`,
        status: days > CERT_WARN_DAYS ? "ok" : "drift",
      });
    }
  }

  // The bastion reaches the API at its private name (the public load balancer admits only the
  // operators' CIDRs); the kubeconfig's tls-server-name is that name already.
  const kubeconfig = o.outputs.privateApiEndpoint
    ? o.outputs.kubeconfig.replace(/^(\s*server:\s*).*$/m, `$1${o.outputs.privateApiEndpoint}`)
    : o.outputs.kubeconfig;
  const bundle = renderSecretBundle({ kubeconfig });
  const c = await shell.run(o.outputs.bastionIp, probe("cluster", runtime), Buffer.from(bundle));
  if (c.code !== 0) {
    add({
      machine: "cluster",
      check: "API",
      expected: "answers",
      actual: `exit ${c.code}`,
      status: "drift",
    });
    return findings;
  }
  const seen = facts(c.output);
  const nodes = new Map(seen.filter((f) => f[0] === "node").map((f) => [f[1]!, f[2]!]));
  for (const n of o.outputs.nodes) {
    const ready = nodes.get(n.nodeName);
    add({
      machine: n.name,
      check: "Node object",
      expected: "Ready",
      actual: ready === undefined ? "missing" : ready === "True" ? "Ready" : `Ready=${ready}`,
      status: ready === "True" ? "ok" : "drift",
    });
  }
  const known = new Set(o.outputs.nodes.map((n) => n.nodeName));
  for (const [name] of nodes) {
    if (!known.has(name)) {
      add({
        machine: name,
        check: "Node object",
        expected: "not in the stack",
        actual: "registered",
        status: "drift",
      });
    }
  }
  const members = seen.filter((f) => f[0] === "member").map((f) => f[1]!);
  const cps = o.outputs.nodes
    .filter((n) => n.role === "control-plane")
    .map((n) => n.nodeName)
    .sort();
  add({
    machine: "cluster",
    check: "etcd members",
    expected: cps.join(", "),
    actual: [...members].sort().join(", ") || "none",
    status: JSON.stringify([...members].sort()) === JSON.stringify(cps) ? "ok" : "drift",
  });
  const snapshot = seen.find((f) => f[0] === "snapshot");
  const interval = o.outputs.etcdBackup?.intervalMinutes;
  if (o.outputs.etcdBackup) {
    const age = snapshot
      ? Math.round((now.getTime() - Date.parse(snapshot[1]!)) / 60_000)
      : undefined;
    add({
      machine: "cluster",
      check: "last etcd snapshot",
      expected: interval ? `< ${2 * interval} min old` : "one exists",
      actual: age === undefined ? "none" : `${age} min ago (${snapshot![2]})`,
      status: age === undefined || (interval !== undefined && age > 2 * interval) ? "drift" : "ok",
    });
  }
  return findings;
}

/** One table, drifted rows first; the legend says what a drifted step file means. */
export function driftTable(findings: readonly Finding[]): string {
  const rows = [...findings].sort(
    (a, b) => (a.status === "drift" ? 0 : 1) - (b.status === "drift" ? 0 : 1),
  );
  const header = ["machine", "check", "expected", "actual", "status"];
  const cells = rows.map((f) => [
    f.machine,
    f.check,
    f.expected,
    f.actual,
    f.status === "drift" ? "DRIFT" : f.status,
  ]);
  const width = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => v.padEnd(width[i]!))
      .join("  ")
      .trimEnd();
  const drifted = findings.filter((f) => f.status === "drift").length;
  return [
    line(header),
    line(width.map((w) => "-".repeat(w))),
    ...cells.map(line),
    "",
    drifted === 0
      ? "no drift"
      : `${drifted} drifted. A step file that differs ran from an older version of this project: edited steps reach new and replaced nodes only.`,
  ].join("\n");
}
