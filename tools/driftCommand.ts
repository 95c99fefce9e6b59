/**
 * The deploy wrapper's `drift`: the report of tools/drift.ts on a stack (its outputs, and its
 * state's commands as the plan) or on a saved input (`--outputs FILE`: `{outputs, plan,
 * sshPort?}`, what the tests give it). Prints the table or JSON; a drift fails the command
 * (exit 1) after the report is printed.
 */
import * as fs from "fs";
import type { OutputMap } from "@pulumi/pulumi/automation";
import type { DeployArgs } from "./deployArgs";
import {
  collectDrift,
  driftTable,
  DriftOutputs,
  PlannedFile,
  plannedFiles,
  PlannedFiles,
} from "./drift";
import { DeployError } from "./engineError";
import { bastionShell } from "./nodeShell";
import type { DeployStack } from "./stackBackend";

interface Saved {
  outputs: Record<string, unknown>;
  /** Host -> path -> its planned hashes (or the sha256 alone). */
  plan: Record<string, Record<string, PlannedFile | string>>;
  sshPort?: number;
}

async function report(
  stack: string,
  outputs: Record<string, unknown>,
  plan: PlannedFiles,
  args: DeployArgs,
  say: (line: string) => void,
  port?: number,
): Promise<void> {
  const need = (name: string) => {
    if (outputs[name] === undefined)
      throw new DeployError(`stack ${stack} has no ${name} output: deploy it first`);
    return outputs[name];
  };
  const o: DriftOutputs = {
    kubernetesVersion: need("kubernetesVersion") as string,
    containerRuntime: outputs.containerRuntime as string | undefined,
    nodes: need("nodes") as DriftOutputs["nodes"],
    bastionIp: need("bastionIp") as string,
    kubeconfig: need("kubeconfig") as string,
    privateApiEndpoint: outputs.privateApiEndpoint as string | undefined,
    etcdBackup: outputs.etcdBackup as DriftOutputs["etcdBackup"],
  };
  const shell = await bastionShell({
    bastionHost: o.bastionIp,
    bastionUser: need("bastionUser") as string,
    nodeUser: need("sshUser") as string,
    privateKey: need("sshPrivateKey") as string,
    port,
  });
  try {
    const findings = await collectDrift({ outputs: o, plan }, shell);
    say(args.json ? JSON.stringify(findings, null, 2) : driftTable(findings));
    const drifted = findings.filter((f) => f.status === "drift").length;
    if (drifted > 0)
      throw new DeployError(`stack ${stack}: ${drifted} finding(s) drifted from the plan`);
  } finally {
    shell.close();
  }
}

export async function driftFromFile(
  file: string,
  args: DeployArgs,
  say: (line: string) => void,
): Promise<void> {
  const saved = JSON.parse(fs.readFileSync(file, "utf8")) as Saved;
  const plan = new Map(
    Object.entries(saved.plan).map(([host, files]) => [
      host,
      new Map(
        Object.entries(files).map(([f, p]) => [f, typeof p === "string" ? { sha256: p } : p]),
      ),
    ]),
  );
  await report(args.stack, saved.outputs, plan, args, say, saved.sshPort);
}

export async function driftOfStack(
  stack: DeployStack,
  args: DeployArgs,
  say: (line: string) => void,
): Promise<void> {
  const map: OutputMap = await stack.outputs();
  const outputs = Object.fromEntries(Object.entries(map).map(([k, v]) => [k, v.value]));
  const state = stack.exportStack ? await stack.exportStack() : { deployment: { resources: [] } };
  const resources = state.deployment.resources ?? [];
  const plan = plannedFiles(resources);
  // Without the plan every file check would pass unseen: say so rather than report no drift.
  if (plan.size === 0 && resources.some((r) => r.type === "command:remote:Command"))
    throw new DeployError(
      `stack ${stack.name}: the exported state shows no command's connection (its secrets were not decrypted), so there is no plan to compare with`,
    );
  await report(stack.name, outputs, plan, args, say);
}
