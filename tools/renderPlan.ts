/**
 * Renders exactly what would run on each machine for a stack, without any cloud access: the
 * program is evaluated under Pulumi mocks with the stack's config (its own `loadConfig()` and
 * `createKubeadmCluster`, as `pulumi up` runs them), then every guest script (create and
 * delete), the names of its stdin secrets and every kubeadm/CNI file are written to a folder,
 * with a summary first (tools/renderLayout.ts has the layout, renderSummary.ts the summary).
 * Secrets are never written: stdin values become `<secret>`, and addresses come from the
 * documentation ranges (RFC 5737), so the output is safe to commit, diff and lint.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { documentationCidrProblems } from "../config/ingressCidrs";
import { PINNED } from "../render/versions";
import { checkStackExists } from "./renderArgs";
import { stackConfigMap } from "./stackFiles";

export { stackConfigMap } from "./stackFiles";
import {
  clearPreviousRender,
  LIB_DIR,
  libraryFiles,
  stepFileText,
  SUMMARY_FILE,
} from "./renderLayout";
import { bootstrapOrder, NodeRow, renderSummary, StepRow } from "./renderSummary";
import {
  describeInstanceTypeFacts,
  installMocks,
  MOCK_CLUSTER_OPTIONS,
  settle,
  valueOf,
} from "./mockCloud";

const HEREDOC = /<<'__KUBEADM_AWS_SCRIPT_END__'\n([\s\S]*?)\n__KUBEADM_AWS_SCRIPT_END__/;

/** The stack's config as `pulumi up` hands it to the program, after checking the file exists. */
function renderedStackConfig(projectDir: string, stack: string): Record<string, string> {
  checkStackExists(stack, projectDir);
  return stackConfigMap(projectDir, stack);
}

/** The script a remote command runs, unwrapped from its SSH invocation. */
export function innerScript(invocation: string): string {
  const m = HEREDOC.exec(invocation);
  return m ? `${m[1]}\n` : invocation;
}

/** `name base64` lines with the values replaced. */
export function redactBundle(bundle: string): string {
  return bundle
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => `${line.split(" ")[0]} <secret>`)
    .join("\n")
    .concat("\n");
}

/** An ingress list as configured, and as rendered when `my-ip` was resolved. */
function ingress(configured: readonly string[], rendered: readonly string[]): string {
  const text = configured.join(", ") || "none";
  const resolved = rendered.join(", ");
  return resolved === configured.join(", ") ? text : `${text} (rendered as ${resolved || "none"})`;
}

/** One rendered step, with the scripts as the program passes them to the command. */
export interface RenderedStep extends StepRow {
  /** The create script exactly as it runs on the node (libraries included). */
  readonly create: string;
  /** The delete script exactly as it runs, if any. */
  readonly delete?: string;
  /** The `<step>.stdin` file: each entry's name with its value replaced. */
  readonly stdinBundle?: string;
}

export interface RenderResult {
  /** Every file written, relative to the output folder, sorted (the summary first). */
  readonly files: string[];
  /** The text of 00-summary.md. */
  readonly summary: string;
  readonly warnings: string[];
  readonly nodes: NodeRow[];
  /** In bootstrap order. */
  readonly steps: RenderedStep[];
}

export async function renderPlan(
  stack: string,
  outDir: string,
  projectDir = process.cwd(),
): Promise<RenderResult> {
  const configMap = renderedStackConfig(projectDir, stack);
  // A type the mock catalogue lacks renders with assumed facts, and a warning says so.
  const h = await installMocks(stack, { unknownInstanceTypes: "assume" });
  pulumi.runtime.setAllConfig(configMap);
  // The program's own config reader and wiring, so the render is what `pulumi up` would run.
  const { loadConfig } = await import("../components/stackConfig");
  const { createKubeadmCluster } = await import("../components/createCluster");
  const config = loadConfig();
  // my-ip resolves to a documentation address: rendering never touches the network.
  const cluster = await createKubeadmCluster(config, MOCK_CLUSTER_OPTIONS);
  await settle(cluster.kubeconfig, cluster.nodes, cluster.apiEndpoint);
  const region = cluster.deploymentRecord.region;

  // Nodes by logical name; instance ids, URNs and private addresses back to their node.
  const summaries = new Map((await valueOf(cluster.nodes)).map((n) => [n.name, n]));
  const byInstance = new Map<string, string>();
  const byAddress = new Map<string, string>();
  const nodes: NodeRow[] = [];
  for (const node of [...cluster.machines.controlPlanes, ...cluster.machines.workers]) {
    const s = summaries.get(node.name)!;
    byInstance.set(await valueOf(node.instance.id), node.name);
    byInstance.set(await valueOf(node.instance.urn), node.name);
    // Every step reaches its node at its private address, through the bastion.
    byAddress.set(s.privateIp, node.name);
    nodes.push({
      name: node.name,
      role: s.role,
      zone: s.availabilityZone,
      instanceType: await valueOf(node.instance.instanceType),
      privateIp: s.privateIp,
      publicIp: s.publicIp,
      nodeName: s.nodeName,
    });
  }
  // Cluster-level steps (the CNI, registration, removal, readiness) run on the bastion itself.
  byAddress.set(await valueOf(cluster.bastionIp), "bastion");
  const nodeNames = [...summaries.keys()].sort((a, b) => b.length - a.length);
  const where = (resource: string): [string, string] => {
    const node = nodeNames.find((n) => resource.startsWith(`${n}-`));
    return node
      ? [node, resource.slice(node.length + 1)]
      : ["cluster", resource.slice(config.clusterName.length + 1)];
  };

  const files = new Map<string, { text: string; mode: number }>();
  const add = (rel: string, text: string, mode = 0o644) => {
    if (files.has(rel)) throw new Error(`two rendered files would be ${rel}`);
    files.set(rel, { text, mode });
  };

  const libs = libraryFiles();
  for (const lib of libs) add(`${LIB_DIR}/${lib.file}`, lib.text);

  const commands = h
    .byType("command:remote:Command")
    .filter((c) => c.name.startsWith(`${config.clusterName}-`));
  const commandNames = new Set(commands.map((c) => c.name));
  const unordered: RenderedStep[] = commands.map((r) => {
    const [dir, step] = where(r.name);
    const host = String(r.inputs.connection?.host ?? "");
    const proxy = String(r.inputs.connection?.proxy?.host ?? "");
    const stdin = r.inputs.stdin ? redactBundle(r.inputs.stdin as string) : undefined;
    return {
      resource: r.name,
      file: `${dir}/${step}.sh`,
      deleteFile: r.inputs.delete ? `${dir}/${step}.delete.sh` : undefined,
      host: byAddress.get(host) ?? host,
      hostAddress: host,
      proxy,
      triggers: [...new Set((r.inputs.triggers as string[]).map((id) => byInstance.get(id) ?? id))],
      after: [...new Set(r.dependencies.map(h.nameOfUrn))]
        .filter((name) => commandNames.has(name))
        .sort(),
      stdin: stdin
        ? stdin
            .trim()
            .split("\n")
            .map((line) => line.split(" ")[0]!)
        : [],
      deleteSkippedWith: r.deletedWith
        ? (byInstance.get(r.deletedWith) ?? h.nameOfUrn(r.deletedWith))
        : undefined,
      stdinBundle: stdin,
      create: innerScript(r.inputs.create as string),
      delete: r.inputs.delete ? innerScript(r.inputs.delete as string) : undefined,
    };
  });
  const steps = bootstrapOrder(unordered);

  for (const s of steps) {
    const stdinFile = s.file.replace(/\.sh$/, ".stdin");
    const notes = (kind: "create" | "delete") => [
      `resource: ${s.resource} (its ${kind} script)`,
      s.proxy
        ? `runs on:  ${s.host} (${s.hostAddress}), over SSH through the bastion ${s.proxy}`
        : `runs on:  ${s.host} (${s.hostAddress}), over SSH`,
      `triggers: ${s.triggers.join(", ") || "none"} (replacing one runs the step again)`,
      `stdin:    ${s.stdin.length > 0 ? `${s.stdin.join(", ")} (names only: ${path.basename(stdinFile)})` : "none"}`,
      kind === "create"
        ? `delete:   ${s.deleteFile ? `${path.basename(s.deleteFile)}` : "no delete script"}`
        : `delete:   this file runs when ${s.resource} is deleted`,
      ...(s.deleteSkippedWith
        ? [`          skipped when ${s.deleteSkippedWith} is deleted in the same operation`]
        : []),
    ];
    add(s.file, stepFileText(s.create, notes("create")), 0o755);
    if (s.deleteFile && s.delete) add(s.deleteFile, stepFileText(s.delete, notes("delete")), 0o755);
    if (s.stdinBundle) add(stdinFile, s.stdinBundle);
  }
  for (const [rel, output] of cluster.bootstrapArtifacts) {
    const [dir, file] = rel.includes("/") ? rel.split("/", 2) : ["cluster", rel];
    add(`${dir}/${file}`, await valueOf(output));
  }

  const warnings = [
    ...[...h.assumedInstanceTypes]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(
        ([type, facts]) =>
          `${type} is not in the mock catalogue; rendered with assumed facts: ` +
          `${describeInstanceTypeFacts(facts)}, offered in every zone of ${region} ` +
          `(a real run asks EC2: check the type exists there)`,
      ),
    // The placeholders the shipped stacks carry: the render accepts them, a real run does not.
    ...documentationCidrProblems(config).map((p) => `a real \`pulumi up\` refuses this: ${p}`),
  ];
  const summary = renderSummary({
    stack,
    cluster: [
      ["region", region],
      ["zones", cluster.deploymentRecord.zones.join(", ")],
      ["cluster name", config.clusterName],
      [
        "operating system",
        config.selinux && config.firewalld
          ? `${config.os} (SELinux ${config.selinux}, firewalld ${config.firewalld})`
          : config.os,
      ],
      ["container runtime", config.containerRuntime],
      ["CNI", config.cni],
      [
        "topology",
        `${config.topology}${config.topology === "private" ? ` (NAT: ${config.natGateways})` : ""}`,
      ],
      ["API endpoint (operators)", await valueOf(cluster.apiEndpoint)],
      ["API name (controlPlaneEndpoint, inside the VPC)", cluster.privateApiEndpoint],
      [
        "bastion",
        `${cluster.bastionUser}@${await valueOf(cluster.bastionIp)} (${config.bastion.instanceType})`,
      ],
      ["VPC CIDR", config.vpcCidr],
      ["pod CIDR", config.podCidr],
      ["service CIDR", config.serviceCidr],
      ["SSH ingress", ingress(config.sshIngressCidrs, cluster.config.sshIngressCidrs)],
      ["API ingress", ingress(config.apiIngressCidrs, cluster.config.apiIngressCidrs)],
      [
        "NodePort ingress",
        ingress(config.nodePortIngressCidrs, cluster.config.nodePortIngressCidrs),
      ],
    ],
    versions: [
      ["Kubernetes (kubeadm, kubelet, kubectl)", config.kubernetesVersion],
      ...Object.entries(PINNED).map(([name, version]) => [name, version] as const),
    ],
    nodes,
    steps,
    warnings,
  });
  add(SUMMARY_FILE, summary);

  // Only now, with everything rendered, is the previous render replaced.
  clearPreviousRender(outDir);
  for (const [rel, { text, mode }] of files) {
    const file = path.join(outDir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text, { mode });
  }
  return { files: [...files.keys()].sort(), summary, warnings, nodes, steps };
}
