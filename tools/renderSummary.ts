/**
 * The render's summary, `00-summary.md`: the nodes, every step in bootstrap order with where it
 * runs and what re-runs it, the pinned versions and the warnings. Plain Markdown tables without
 * padding, one row per node or step and nothing that changes between runs (no time, no paths),
 * so the diff of two renders shows only what changed.
 */
import { SUMMARY_TITLE } from "./renderLayout";

export interface NodeRow {
  /** Logical name, e.g. k8s-prod-cp-0. */
  readonly name: string;
  readonly role: string;
  readonly zone: string;
  readonly instanceType: string;
  readonly privateIp: string;
  readonly publicIp: string;
  /** The Kubernetes node name (its private DNS name). */
  readonly nodeName: string;
}

export interface StepRow {
  /** The remote command's resource name. */
  readonly resource: string;
  /** Its create script, e.g. k8s-prod-cp-1/join.sh. */
  readonly file: string;
  /** Its delete script, if it has one. */
  readonly deleteFile?: string;
  /** The node it runs on (its private address, through the bastion), or the address. */
  readonly host: string;
  readonly hostAddress: string;
  /** The bastion's address the connection goes through. */
  readonly proxy: string;
  /** The nodes whose instance ids are its triggers: replacing one re-runs the step. */
  readonly triggers: readonly string[];
  /** The commands it depends on (resource names). */
  readonly after: readonly string[];
  /** The names of its stdin entries. */
  readonly stdin: readonly string[];
  /** The node whose deletion in the same operation skips its delete script (deletedWith). */
  readonly deleteSkippedWith?: string;
}

export interface PlanSummary {
  readonly stack: string;
  /** Setting and value, in the order shown. */
  readonly cluster: readonly (readonly [string, string])[];
  /** Component and version. */
  readonly versions: readonly (readonly [string, string])[];
  readonly nodes: readonly NodeRow[];
  /** In bootstrap order (`bootstrapOrder`). */
  readonly steps: readonly StepRow[];
  readonly warnings: readonly string[];
}

/**
 * The steps in the order the bootstrap chain allows: a topological order of their dependencies
 * (Kahn's), taking the ready step with the smallest resource name first, so the order is the
 * same on every run. Dependencies on anything but another step are ignored.
 */
export function bootstrapOrder<T extends { resource: string; after: readonly string[] }>(
  steps: readonly T[],
): T[] {
  const byName = new Map(steps.map((s) => [s.resource, s]));
  const waiting = new Map(
    steps.map((s) => [s.resource, new Set(s.after.filter((a) => byName.has(a)))]),
  );
  const order: T[] = [];
  while (waiting.size > 0) {
    const ready = [...waiting].filter(([, deps]) => deps.size === 0).map(([name]) => name);
    if (ready.length === 0) {
      throw new Error(
        `the steps depend on each other in a cycle: ${[...waiting.keys()].join(", ")}`,
      );
    }
    const next = ready.sort()[0]!;
    waiting.delete(next);
    for (const deps of waiting.values()) deps.delete(next);
    order.push(byName.get(next)!);
  }
  return order;
}

/** A table cell: pipes escaped, empty as a dash. */
function cell(value: string | readonly string[]): string {
  const text = typeof value === "string" ? value : value.join(", ");
  return text === "" ? "-" : text.replace(/\|/g, "\\|");
}

type Row = readonly (string | readonly string[])[];

function table(header: readonly string[], rows: readonly Row[]): string[] {
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`),
  ];
}

export function renderSummary(plan: PlanSummary): string {
  const lines = [
    `${SUMMARY_TITLE}: stack ${plan.stack}`,
    "",
    `What \`pulumi up --stack ${plan.stack}\` would run on each machine: the program evaluated with`,
    `Pulumi.${plan.stack}.yaml under mocks, without cloud access (\`npm run render -- --stack ${plan.stack}\`).`,
    "Addresses, DNS names and instance ids are the mock's (public addresses from RFC 5737). No",
    "secret is written: a `<step>.stdin` file names its entries only.",
    "",
    "Layout: `lib/` holds the shared libraries once; each step runs them where its marker line",
    "`# ---- the shared libraries run here ...` stands. Per node: `<step>.sh`, `<step>.delete.sh`",
    "(runs when the step is deleted), `<step>.stdin` and the node's kubeadm file. Steps that run on",
    "the first control plane on behalf of a node (creds, member) are filed under that node;",
    "`cluster/` holds the cluster-wide steps and files.",
    "",
    "## Warnings",
    "",
    ...(plan.warnings.length > 0 ? plan.warnings.map((w) => `- ${w}`) : ["- none"]),
    "",
    "## Cluster",
    "",
    ...table(["setting", "value"], plan.cluster),
    "",
    "## Versions",
    "",
    ...table(["component", "version"], plan.versions),
    "",
    "## Nodes",
    "",
    ...table(
      ["node", "role", "zone", "instance type", "private IP", "public IP", "Kubernetes node name"],
      plan.nodes.map((n) => [
        n.name,
        n.role,
        n.zone,
        n.instanceType,
        n.privateIp,
        n.publicIp,
        n.nodeName,
      ]),
    ),
    "",
    "## Steps, in bootstrap order",
    "",
    "A topological order of the commands' dependencies, ties broken by resource name; steps whose",
    "dependencies are done run in parallel. `runs on`: the node it reaches over SSH, at its private",
    "address through the bastion. `triggers`: the",
    "nodes whose instance ids are its triggers, so replacing one runs it again. `after`: the steps it",
    "waits for.",
    "",
    ...table(
      ["step", "file", "runs on", "triggers", "after", "stdin", "on delete"],
      plan.steps.map((s) => [
        s.resource,
        s.file,
        `${s.host} (${s.hostAddress})`,
        s.triggers,
        s.after,
        s.stdin,
        s.deleteFile
          ? `${s.deleteFile}${s.deleteSkippedWith ? `, skipped when ${s.deleteSkippedWith} goes too` : ""}`
          : "",
      ]),
    ),
    "",
  ];
  return lines.join("\n");
}
