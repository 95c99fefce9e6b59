/**
 * `npm run plan-diff -- BASE HEAD [--out FILE]`: the guest-plan diff of a pull request. BASE and
 * HEAD each hold one `npm run render` output per stack (`<dir>/<stack>/00-summary.md`, ...); the
 * result is one Markdown report, per stack, per node and step, of what changed inside the
 * guests, and which machines each change reaches:
 *
 * - a step whose **triggers** changed runs again on the running machines it is about (its
 *   resource is replaced);
 * - a step whose script, parameters, kubeadm document or stdin entries changed but not its
 *   triggers reaches **new and replaced nodes only**: on a running node the update is a logged
 *   no-op (components/remoteStep.ts);
 * - a new step runs in the next `up`; a removed one runs its delete script, if it has one;
 * - a changed `kubernetesVersion`, instance type or image is a **rolling change** on a running
 *   cluster (README "Upgrading Kubernetes", "Changing an instance type or image"): it reaches
 *   every node, through steps that a render without a previous deployment does not show.
 *
 * Unified diffs come from the `diff` library (jsdiff); the report never holds a secret, since a
 * render holds none (a `.stdin` file names its entries only).
 */
import * as fs from "fs";
import * as path from "path";
import { createTwoFilesPatch } from "diff";

export const COMMENT_MARKER = "<!-- kubeadm-aws guest-plan -->";
/** Lines of unified diff shown per file before it is cut (the rest is counted). */
const MAX_DIFF_LINES = 80;

type Reach = "running" | "new-only" | "added" | "removed" | "every-step" | "info";

const REACH_TEXT: Record<Reach, string> = {
  running: "**runs again on the running machine** (its triggers changed)",
  "new-only": "new and replaced nodes only (running nodes: a logged no-op)",
  added: "new step: runs in the next `up`",
  removed: "removed: its delete script runs, if it has one",
  "every-step": "every step's text: new and replaced nodes, and steps whose triggers change",
  info: "review only",
};

export interface FileChange {
  readonly file: string;
  readonly kind: "added" | "removed" | "changed";
  readonly what: string[];
  readonly reach: Reach;
  readonly patch: string;
}

export interface StackDiff {
  readonly stack: string;
  readonly changes: FileChange[];
  /** Rolling changes read from the summaries (version, types), each a sentence. */
  readonly rolling: string[];
  /** Why a stack could not be compared (a render missing on one side). */
  readonly missing?: string;
}

function walk(root: string): string[] {
  const out: string[] = [];
  const visit = (dir: string) => {
    for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) visit(rel);
      else out.push(rel);
    }
  };
  if (fs.existsSync(root)) visit("");
  return out.sort();
}

const read = (root: string, file: string): string | undefined =>
  fs.existsSync(path.join(root, file)) ? fs.readFileSync(path.join(root, file), "utf8") : undefined;

/** The `readonly NAME=value` parameters of a rendered step, by name. */
function params(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split("\n")) {
    const p = /^readonly (?:-a )?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (p) m.set(p[1]!, p[2]!);
    if (line.startsWith("# ---- the shared libraries run here")) break;
  }
  return m;
}

const notesLine = (text: string, key: string): string =>
  new RegExp(`^# ${key}:\\s*(.*)$`, "m").exec(text)?.[1]?.trim() ?? "";

/** The body after the libraries' marker line. */
const bodyOf = (text: string): string =>
  text.split("# ---- the shared libraries run here")[1]?.split("\n").slice(1).join("\n") ?? "";

const short = (v: string): string => (v.length > 60 ? `${v.slice(0, 57)}...` : v);

function describeStep(before: string, after: string): { what: string[]; reach: Reach } {
  const what: string[] = [];
  const [pb, pa] = [params(before), params(after)];
  for (const name of [...new Set([...pb.keys(), ...pa.keys()])].sort()) {
    const [b, a] = [pb.get(name), pa.get(name)];
    if (b === a || name === "STEP") continue;
    what.push(
      b === undefined
        ? `parameter ${name} added`
        : a === undefined
          ? `parameter ${name} removed`
          : b.length + a.length < 100
            ? `${name}: ${short(b)} → ${short(a)}`
            : `${name} changed`,
    );
  }
  if (bodyOf(before) !== bodyOf(after)) what.push("script body changed");
  // The notes say "<triggers> (replacing one runs the step again)": compare the triggers only.
  const triggersOf = (text: string) => notesLine(text, "triggers").replace(/\s*\(.*\)$/, "");
  const [tb, ta] = [triggersOf(before), triggersOf(after)];
  const triggersChanged = tb !== ta;
  if (triggersChanged) what.push(`triggers: ${short(tb)} → ${short(ta)}`);
  if (what.length === 0) what.push("review notes changed");
  return { what, reach: triggersChanged ? "running" : "new-only" };
}

/** The rows of a Markdown table of the summary, under `## title`, as "first cell -> rest". */
function tableRows(summary: string | undefined, title: string): Map<string, string> {
  const rows = new Map<string, string>();
  if (!summary) return rows;
  const section = summary.split(`## ${title}\n`)[1]?.split("\n## ")[0] ?? "";
  for (const line of section.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    if (cells.length < 4 || cells[1] === "---" || /^-+$/.test(cells[1] ?? "")) continue;
    rows.set(cells[1]!, cells.slice(2, -1).join(" | "));
  }
  return rows;
}

function rollingChanges(before: string | undefined, after: string | undefined): string[] {
  const out: string[] = [];
  const [vb, va] = [tableRows(before, "Versions"), tableRows(after, "Versions")];
  const k8s = "Kubernetes (kubeadm, kubelet, kubectl)";
  if (vb.get(k8s) && va.get(k8s) && vb.get(k8s) !== va.get(k8s)) {
    out.push(
      `kubernetesVersion ${vb.get(k8s)} → ${va.get(k8s)}: on a running cluster, a rolling upgrade of every node (README "Upgrading Kubernetes")`,
    );
  }
  for (const [name, b] of vb) {
    const a = va.get(name);
    if (name !== k8s && a !== undefined && a !== b) out.push(`pinned ${name}: ${b} → ${a}`);
  }
  const [nb, na] = [tableRows(before, "Nodes"), tableRows(after, "Nodes")];
  for (const [node, b] of nb) {
    const a = na.get(node);
    const type = (row: string) => row.split(" | ")[2];
    if (a !== undefined && type(a) !== type(b)) {
      out.push(
        `${node}: instance type ${type(b)} → ${type(a)}: on a running cluster, rolled one node at a time (README "Changing an instance type or image")`,
      );
    }
  }
  return out;
}

function changeOf(file: string, before?: string, after?: string): FileChange | undefined {
  if (before === after) return undefined;
  const patch = createTwoFilesPatch(
    `base/${file}`,
    `head/${file}`,
    before ?? "",
    after ?? "",
    "",
    "",
    {
      context: 2,
    },
  );
  const kind = before === undefined ? "added" : after === undefined ? "removed" : "changed";
  const step = file.endsWith(".sh") && !file.endsWith(".delete.sh") && !file.startsWith("lib/");
  if (file.startsWith("lib/")) {
    return { file, kind, what: ["shared library changed"], reach: "every-step", patch };
  }
  if (kind !== "changed") {
    const reach: Reach = step ? kind : "info";
    return { file, kind, what: [step ? `step ${kind}` : `file ${kind}`], reach, patch };
  }
  if (step) return { file, kind, ...describeStep(before!, after!), patch };
  if (file.endsWith(".stdin")) {
    return { file, kind, what: ["stdin entries changed"], reach: "new-only", patch };
  }
  if (file.endsWith(".delete.sh")) {
    return { file, kind, what: ["delete script changed"], reach: "new-only", patch };
  }
  if (file.endsWith(".yaml")) {
    return { file, kind, what: ["document changed"], reach: "new-only", patch };
  }
  return { file, kind, what: ["changed"], reach: "info", patch };
}

/** Compares one stack's two renders. */
export function diffStack(stack: string, baseDir: string, headDir: string): StackDiff {
  const [b, h] = [path.join(baseDir, stack), path.join(headDir, stack)];
  const missing = !fs.existsSync(b) ? "base" : !fs.existsSync(h) ? "head" : undefined;
  if (missing) {
    return { stack, changes: [], rolling: [], missing: `no render of ${stack} at the ${missing}` };
  }
  const files = [...new Set([...walk(b), ...walk(h)])].filter((f) => f !== "00-summary.md").sort();
  const changes = files
    .map((f) => changeOf(f, read(b, f), read(h, f)))
    .filter((c): c is FileChange => c !== undefined);
  return {
    stack,
    changes,
    rolling: rollingChanges(read(b, "00-summary.md"), read(h, "00-summary.md")),
  };
}

function clip(patch: string): string {
  const lines = patch.split("\n").slice(2); // the Index/=== header lines of jsdiff
  if (lines.length <= MAX_DIFF_LINES) return lines.join("\n");
  return `${lines.slice(0, MAX_DIFF_LINES).join("\n")}\n... ${lines.length - MAX_DIFF_LINES} more lines (npm run render for the whole file)`;
}

/** The report: one section per stack, a table of changes, then each file's diff folded. */
export function renderReport(diffs: readonly StackDiff[]): string {
  const out = [COMMENT_MARKER, "## Guest plan diff", ""];
  out.push(
    "What this pull request changes inside the machines, from `npm run render` of each stack at the base and at the head. " +
      "A step whose triggers change runs again on the running machines; any other edit reaches new and replaced nodes only.",
    "",
  );
  for (const d of diffs) {
    out.push(`### Stack \`${d.stack}\``, "");
    if (d.missing) {
      out.push(`Not compared: ${d.missing}.`, "");
      continue;
    }
    if (d.changes.length === 0 && d.rolling.length === 0) {
      out.push("No change inside the guests.", "");
      continue;
    }
    for (const r of d.rolling) out.push(`- ${r}`);
    if (d.rolling.length > 0) out.push("");
    if (d.changes.length > 0) {
      out.push("| node | file | what changed | reaches |", "|---|---|---|---|");
      for (const c of d.changes) {
        const [node, ...rest] = c.file.split(path.sep);
        out.push(
          `| ${rest.length ? node : "-"} | ${rest.join("/") || node} | ${c.what.join("; ")} | ${REACH_TEXT[c.reach]} |`,
        );
      }
      out.push("");
      for (const c of d.changes) {
        out.push(
          `<details><summary>${c.file}</summary>`,
          "",
          "```diff",
          clip(c.patch),
          "```",
          "",
          "</details>",
        );
      }
      out.push("");
    }
  }
  return out.join("\n");
}

/** The stacks rendered on either side (folders holding a summary). */
export function stacksIn(...dirs: string[]): string[] {
  const names = new Set<string>();
  for (const dir of dirs) {
    if (!fs.existsSync(dir)) continue;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory() && fs.existsSync(path.join(dir, e.name, "00-summary.md")))
        names.add(e.name);
    }
  }
  return [...names].sort();
}

export function main(argv: string[]): number {
  const args = argv.filter((a) => a !== "--");
  const outAt = args.indexOf("--out");
  const out = outAt >= 0 ? args[outAt + 1] : undefined;
  const [base, head] = args.filter((_, i) => outAt < 0 || (i !== outAt && i !== outAt + 1));
  if (!base || !head || (outAt >= 0 && !out)) {
    process.stderr.write("usage: npm run plan-diff -- BASE_DIR HEAD_DIR [--out FILE]\n");
    return 2;
  }
  const report = renderReport(stacksIn(base, head).map((s) => diffStack(s, base, head)));
  if (out) fs.writeFileSync(out, `${report}\n`);
  else process.stdout.write(`${report}\n`);
  return 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
