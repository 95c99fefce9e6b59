/**
 * Where a stack's state is kept and how the wrapper reaches the stack: the backend of
 * Pulumi.yaml (`file://~`) unless PULUMI_BACKEND_URL overrides it, as for the CLI itself; the
 * stack created on first use with the config already in Pulumi.<stack>.yaml.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import type {
  LocalProgramArgs,
  LocalWorkspaceOptions,
  OutputMap,
  StackSummary,
} from "@pulumi/pulumi/automation";
import { DeployError } from "./engineError";
import { stackNames } from "./stackFiles";
import type { Env } from "./passphrase";

export interface Backend {
  /** undefined: neither says, the CLI uses the backend it is logged in to. */
  url?: string;
  from: "PULUMI_BACKEND_URL" | "Pulumi.yaml" | "pulumi login";
}

export function backendOf(root: string, env: Env): Backend {
  const fromEnv = env.PULUMI_BACKEND_URL;
  if (fromEnv !== undefined && fromEnv !== "") return { url: fromEnv, from: "PULUMI_BACKEND_URL" };
  const project = parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) ?? {};
  const url = project.backend?.url;
  return typeof url === "string" && url !== ""
    ? { url, from: "Pulumi.yaml" }
    : { from: "pulumi login" };
}

export const isLocalBackend = (backend: Backend): boolean =>
  backend.url?.startsWith("file://") ?? false;

/** The folder a file:// backend keeps its state in (`file://~` is the home folder). */
function stateFolder(url: string): string {
  const dir = url.slice("file://".length);
  const base = dir === "~" || dir.startsWith("~/") ? path.join(os.homedir(), dir.slice(1)) : dir;
  return path.join(base, ".pulumi");
}

/** The one line that says where the state is. */
export function describeBackend(backend: Backend): string {
  if (backend.url === undefined) return "state: the backend the CLI is logged in to (pulumi login)";
  const kind = isLocalBackend(backend)
    ? `local file backend ${backend.url} (${stateFolder(backend.url)})`
    : backend.url;
  const override =
    backend.from === "Pulumi.yaml"
      ? "; PULUMI_BACKEND_URL overrides it"
      : ", overriding Pulumi.yaml";
  return `state: ${kind}, from ${backend.from}${override}`;
}

/** What the wrapper does with a stack (the Automation API's Stack has more). */
export interface StackOptions {
  onOutput(out: string): void;
  onError(err: string): void;
  color: "always" | "never";
}

export interface DeployStack {
  readonly name: string;
  up(opts: StackOptions): Promise<unknown>;
  preview(opts: StackOptions): Promise<unknown>;
  destroy(opts: StackOptions): Promise<unknown>;
  outputs(): Promise<OutputMap>;
  /** The stack's state, for the drift report's plan (the Automation API's Stack has it). */
  exportStack?(): Promise<{
    deployment: { resources?: { type: string; inputs?: Record<string, unknown> }[] };
  }>;
}

/** LocalWorkspace's static methods, as the wrapper uses them (injected in tests). */
export interface Automation {
  create(opts: LocalWorkspaceOptions): Promise<{ listStacks(): Promise<StackSummary[]> }>;
  createOrSelectStack(args: LocalProgramArgs, opts: LocalWorkspaceOptions): Promise<DeployStack>;
  selectStack(args: LocalProgramArgs, opts: LocalWorkspaceOptions): Promise<DeployStack>;
}

/** The stack file of a stack name, also for qualified names (org/project/stack). */
export const stackFileOf = (root: string, stack: string): string =>
  path.join(root, `Pulumi.${stack.split("/").pop()}.yaml`);

/** The stacks that have a stack file in the project. */
export const stackFiles = (root: string): string[] => stackNames(root);

/** Whether the backend holds the stack already (`pulumi stack ls` needs no passphrase). */
export async function stackExists(
  automation: Automation,
  options: LocalWorkspaceOptions,
  stack: string,
): Promise<boolean> {
  const workspace = await automation.create(options);
  const short = stack.split("/").pop();
  return (await workspace.listStacks()).some(
    (s) => s.name === stack || s.name.split("/").pop() === short,
  );
}

/**
 * up and preview create a missing stack from its stack file (a name without one is a typo or a
 * stack not set up yet); destroy and outputs need the stack to exist. Checked before any prompt.
 */
export function checkStackCanOpen(
  root: string,
  stack: string,
  existing: boolean,
  canCreate: boolean,
): void {
  if (existing) return;
  if (!canCreate) {
    throw new DeployError(`stack ${stack} does not exist in this backend: nothing to do`);
  }
  const file = stackFileOf(root, stack);
  if (!fs.existsSync(file)) {
    const known = stackFiles(root);
    throw new DeployError(
      `stack ${stack} has no stack file ${path.basename(file)}: stacks here are ` +
        `${known.join(", ") || "none"}. For a new stack, copy Pulumi.dev.yaml to that name and ` +
        "edit it.",
    );
  }
}

/** The stack, selected, or created when missing (up, preview) with the workspace options. */
export function openStack(
  automation: Automation,
  options: LocalWorkspaceOptions & { workDir: string },
  stack: string,
  canCreate: boolean,
): Promise<DeployStack> {
  const args: LocalProgramArgs = { stackName: stack, workDir: options.workDir };
  return canCreate
    ? automation.createOrSelectStack(args, options)
    : automation.selectStack(args, options);
}
