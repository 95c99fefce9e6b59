/**
 * Renders exactly what would run on each machine for a stack, without any cloud access: the
 * program is evaluated under Pulumi mocks with the stack's config, then every guest script
 * (create and delete), the names of its stdin secrets, and every kubeadm/CNI file are written
 * to a folder. Secrets are never written: stdin values become `<secret>`, and addresses come
 * from the documentation ranges (RFC 5737), so the output is safe to commit, diff and lint.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { installMocks, settle, valueOf } from "./mockCloud";

const HEREDOC = /<<'__KUBEADM_AWS_SCRIPT_END__'\n([\s\S]*?)\n__KUBEADM_AWS_SCRIPT_END__/;

/**
 * The configuration `pulumi up` would hand the program for a stack: every `namespace:key` of
 * `Pulumi.<stack>.yaml` as text, structured values as JSON. Encrypted (`secure:`) values cannot
 * be read without the stack's passphrase and are left out.
 */
export function stackConfigMap(projectDir: string, stack: string): Record<string, string> {
  const file = path.join(projectDir, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) throw new Error(`no stack file ${file}`);
  const doc = (parse(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(doc.config ?? {})) {
    if (value && typeof value === "object" && "secure" in value) continue;
    values[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return values;
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

export async function renderPlan(
  stack: string,
  outDir: string,
  projectDir = process.cwd(),
): Promise<string[]> {
  const h = await installMocks(stack);
  pulumi.runtime.setAllConfig(stackConfigMap(projectDir, stack));
  // The program's own config reader and wiring, so the render is what `pulumi up` would run.
  const { loadConfig } = await import("../components/stackConfig");
  const { createKubeadmCluster } = await import("../components/createCluster");
  const config = loadConfig();
  // my-ip resolves to a documentation address: rendering never touches the network.
  const cluster = await createKubeadmCluster(config, { detectIp: async () => "192.0.2.1" });
  await settle(cluster.kubeconfig, cluster.nodes);
  const nodeNames = (await valueOf(cluster.nodes))
    .map((n) => n.name)
    .sort((a, b) => b.length - a.length);

  const written: string[] = [];
  const write = (rel: string, text: string, mode = 0o644) => {
    const file = path.join(outDir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text, { mode });
    written.push(rel);
  };
  const where = (resource: string): [string, string] => {
    const node = nodeNames.find((n) => resource.startsWith(`${n}-`));
    return node
      ? [node, resource.slice(node.length + 1)]
      : ["cluster", resource.slice(config.clusterName.length + 1)];
  };

  for (const r of h
    .byType("command:remote:Command")
    .filter((c) => c.name.startsWith(`${config.clusterName}-`))) {
    const [dir, step] = where(r.name);
    write(`${dir}/${step}.sh`, innerScript(r.inputs.create as string), 0o755);
    if (r.inputs.delete)
      write(`${dir}/${step}.delete.sh`, innerScript(r.inputs.delete as string), 0o755);
    if (r.inputs.stdin) write(`${dir}/${step}.stdin`, redactBundle(r.inputs.stdin as string));
  }
  for (const [rel, output] of cluster.bootstrapArtifacts) {
    const [dir, file] = rel.includes("/") ? rel.split("/", 2) : ["cluster", rel];
    write(`${dir}/${file}`, await valueOf(output));
  }
  return written.sort();
}
