/**
 * Fakes for the deploy wrapper's tests, passed in through DeployDeps: the Automation API, the
 * CLI installer (which never downloads), the terminal, and a throwaway project folder.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type {
  LocalProgramArgs,
  LocalWorkspaceOptions,
  OutputMap,
  PulumiCommand,
  PulumiCommandOptions,
} from "@pulumi/pulumi/automation";
import { SemVer } from "semver";
import type { DeployDeps } from "../../tools/deployRun";
import type { CliInstaller } from "../../tools/pulumiCli";
import type { Automation, DeployStack, StackOptions } from "../../tools/stackBackend";
import type { Terminal } from "../../tools/terminal";

export const PROJECT_YAML = "name: kubeadm-aws\nruntime: nodejs\nbackend:\n  url: file://~\n";

/** A project folder with Pulumi.yaml and the given stack files; removed by the caller. */
export function tempProject(stacks: string[] = ["dev", "prod"]): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "kubeadm-aws-deploy-"));
  fs.writeFileSync(path.join(root, "Pulumi.yaml"), PROJECT_YAML);
  for (const s of stacks) {
    fs.writeFileSync(path.join(root, `Pulumi.${s}.yaml`), "config:\n  aws:region: us-east-1\n");
  }
  return root;
}

/** Puts a (fake) binary where PulumiCommand.get looks: <root>/.pulumi-cli/bin/pulumi. */
export function placeCliBinary(root: string): string {
  const bin = path.join(root, ".pulumi-cli", "bin");
  fs.mkdirSync(bin, { recursive: true });
  const file = path.join(bin, process.platform === "win32" ? "pulumi.exe" : "pulumi");
  fs.writeFileSync(file, "#!/bin/sh\necho v0.0.0-fake\n", { mode: 0o755 });
  return file;
}

export interface InstallerCall {
  method: "get" | "install";
  opts: PulumiCommandOptions;
}

/** Records every call; `get` fails when there is no binary (as the real one does) or on demand. */
export function fakeInstaller(
  options: { getFails?: string; installFails?: string } = {},
): CliInstaller & { calls: InstallerCall[] } {
  const calls: InstallerCall[] = [];
  const command = (opts: PulumiCommandOptions): PulumiCommand =>
    ({
      command: path.join(opts.root!, "bin", "pulumi"),
      version: new SemVer(String(opts.version)),
    }) as PulumiCommand;
  return {
    calls,
    async get(opts) {
      calls.push({ method: "get", opts });
      if (options.getFails) throw new Error(options.getFails);
      return command(opts);
    },
    async install(opts) {
      calls.push({ method: "install", opts });
      if (options.installFails) throw new Error(options.installFails);
      return command(opts);
    },
  };
}

export interface StackCall {
  method: "up" | "preview" | "destroy" | "outputs";
  opts?: StackOptions;
}

export interface FakeAutomation extends Automation {
  created: LocalWorkspaceOptions[];
  opened: {
    how: "createOrSelectStack" | "selectStack";
    args: LocalProgramArgs;
    opts: LocalWorkspaceOptions;
  }[];
  stackCalls: StackCall[];
}

/**
 * A backend holding `existing` stacks. Each operation prints `out` lines through onOutput and
 * `err` lines through onError, then resolves, or rejects with `fail`.
 */
export function fakeAutomation(
  options: {
    existing?: string[];
    outputs?: OutputMap;
    fail?: unknown;
    out?: string[];
    err?: string[];
  } = {},
): FakeAutomation {
  const automation: FakeAutomation = {
    created: [],
    opened: [],
    stackCalls: [],
    async create(opts) {
      automation.created.push(opts);
      return {
        listStacks: async () => (options.existing ?? []).map((name) => ({ name, current: false })),
      };
    },
    async createOrSelectStack(args, opts) {
      automation.opened.push({ how: "createOrSelectStack", args, opts });
      return stack(args.stackName);
    },
    async selectStack(args, opts) {
      automation.opened.push({ how: "selectStack", args, opts });
      return stack(args.stackName);
    },
  };
  const operation =
    (method: StackCall["method"]) =>
    async (opts: StackOptions): Promise<unknown> => {
      automation.stackCalls.push({ method, opts });
      for (const line of options.out ?? []) opts.onOutput(line);
      for (const line of options.err ?? []) opts.onError(line);
      if (options.fail !== undefined) throw options.fail;
      return {};
    };
  const stack = (name: string): DeployStack => ({
    name,
    up: operation("up"),
    preview: operation("preview"),
    destroy: operation("destroy"),
    async outputs() {
      automation.stackCalls.push({ method: "outputs" });
      return options.outputs ?? {};
    },
  });
  return automation;
}

/** A terminal that answers from a list and records each prompt. */
export function fakeTerminal(
  answers: string[] = [],
  interactive = true,
): Terminal & { prompts: string[] } {
  const prompts: string[] = [];
  const next = async (prompt: string): Promise<string> => {
    prompts.push(prompt);
    if (answers.length === 0) throw new Error(`unexpected prompt: ${prompt}`);
    return answers.shift()!;
  };
  return { interactive, prompts, readLine: next, readHidden: next };
}

/** DeployDeps over the fakes, with stdout and stderr captured. */
export function fakeDeps(
  root: string,
  overrides: Partial<DeployDeps> = {},
): DeployDeps & { out: () => string; err: () => string } {
  let stdout = "";
  let stderr = "";
  return {
    root,
    cwd: root,
    env: {},
    automation: fakeAutomation(),
    installer: fakeInstaller(),
    terminal: fakeTerminal([], false),
    color: "never",
    ...overrides,
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    out: () => stdout,
    err: () => stderr,
  };
}
