/**
 * One run of the deploy wrapper, with everything it touches passed in (the Automation API, the
 * CLI installer, the terminal, the environment, the output), so that tests can fake each part.
 *
 * Order: refusals that need no download first (destroy without a terminal or --yes, a passphrase
 * that cannot be had), then the CLI, the backend line, the stack, the confirmation, the
 * passphrase, and the command with its progress streamed.
 */
import * as path from "path";
import type { LocalWorkspaceOptions } from "@pulumi/pulumi/automation";
import type { DeployArgs } from "./deployArgs";
import { DEFAULT_KUBECONFIG } from "./deployArgs";
import { DeployError } from "./engineError";
import { needsPassphrase, passphraseEnv, passphraseSource, type Env } from "./passphrase";
import { projectCli, type CliInstaller } from "./pulumiCli";
import {
  backendOf,
  checkStackCanOpen,
  describeBackend,
  isLocalBackend,
  openStack,
  stackExists,
  stackFileOf,
  type Automation,
  type DeployStack,
  type StackOptions,
} from "./stackBackend";
import type { EtcdTool } from "./etcdTools";
import { showOutputs } from "./stackOutputs";
import type { Terminal } from "./terminal";

export interface DeployDeps {
  /** The repository root: the project's workDir, where .pulumi-cli/ goes. */
  root: string;
  cwd: string;
  env: Env;
  automation: Automation;
  installer: CliInstaller;
  terminal: Terminal;
  stdout(text: string): void;
  stderr(text: string): void;
  color: "always" | "never";
  /** The SDK version to pin the CLI to; the installed @pulumi/pulumi's by default. */
  sdkVersion?: string;
  /** Told when the engine's operation starts and ends (Ctrl-C is the CLI's to handle then). */
  engineRunning?(running: boolean): void;
  /** The etcd tools on a stack's outputs (default: S3 and SSH through the bastion). */
  etcd?: EtcdTool;
}

const CREATES: Record<DeployArgs["command"], boolean> = {
  up: true,
  preview: true,
  destroy: false,
  outputs: false,
  "etcd-snapshot": false,
  "etcd-restore": false,
  drift: false,
};

/** The commands that ask before they act, with what they are about to do. */
const CONFIRMS: Partial<Record<DeployArgs["command"], string>> = {
  destroy: "deletes every resource of stack STACK (its cluster, network and load balancer)",
  "etcd-restore":
    "replaces the etcd data of every control plane of stack STACK with a snapshot (everything written since is lost)",
};

function refuseUnconfirmedDestroy(args: DeployArgs, deps: DeployDeps): void {
  if (!CONFIRMS[args.command] || args.yes || deps.terminal.interactive) return;
  throw new DeployError(
    `${args.command} of stack ${args.stack} needs a confirmation and stdin is not a terminal to ask: ` +
      `add --yes after the lone --:\n  npm run ${args.command} -- --stack ${args.stack} --yes`,
  );
}

async function confirmDestroy(args: DeployArgs, deps: DeployDeps): Promise<void> {
  const what = CONFIRMS[args.command];
  if (args.yes || !what) return;
  const answer = await deps.terminal.readLine(
    `This ${what.replace("STACK", args.stack)}. Type the stack name (${args.stack}) to go on: `,
  );
  if (answer.trim() !== args.stack) {
    throw new DeployError(
      `"${answer.trim()}" is not ${args.stack}: nothing was ${args.command === "destroy" ? "destroyed" : "restored"}`,
    );
  }
}

/** Runs the command on the stack; its progress goes to the terminal as the engine prints it. */
async function runCommand(stack: DeployStack, args: DeployArgs, deps: DeployDeps): Promise<void> {
  const options: StackOptions = {
    onOutput: (out) => deps.stdout(out),
    onError: (err) => deps.stderr(err),
    color: deps.color,
  };
  deps.engineRunning?.(true);
  try {
    await runOperation(stack, args, deps, options);
  } finally {
    deps.engineRunning?.(false);
  }
}

async function runOperation(
  stack: DeployStack,
  args: DeployArgs,
  deps: DeployDeps,
  options: StackOptions,
): Promise<void> {
  const say = (line: string) => deps.stdout(`${line}\n`);
  switch (args.command) {
    case "up":
      await stack.up(options);
      say(`stack ${stack.name} is up. The kubeconfig: npm run outputs -- --stack ${stack.name}`);
      return;
    case "preview":
      await stack.preview(options);
      return;
    case "destroy":
      await stack.destroy(options);
      say(`every resource of stack ${stack.name} is destroyed`);
      return;
    case "outputs":
      await showOutputs(stack, path.resolve(deps.cwd, args.kubeconfig ?? DEFAULT_KUBECONFIG), say);
      return;
    case "drift": {
      const { driftOfStack } = await import("./driftCommand");
      await driftOfStack(stack, args, say);
      return;
    }
    case "etcd-snapshot":
    case "etcd-restore":
      await (deps.etcd ?? (await import("./etcdTools")).runEtcdTool)(
        args,
        await stack.outputs(),
        say,
      );
      return;
  }
}

export async function runDeploy(args: DeployArgs, deps: DeployDeps): Promise<void> {
  const say = (line: string) => deps.stdout(`${line}\n`);
  if (args.command === "drift" && args.outputs) {
    // A saved input (outputs, plan): no Pulumi CLI, no stack, no passphrase.
    const { driftFromFile } = await import("./driftCommand");
    return driftFromFile(path.resolve(deps.cwd, args.outputs), args, say);
  }
  const backend = backendOf(deps.root, deps.env);
  refuseUnconfirmedDestroy(args, deps);
  const source = passphraseSource(
    deps.env,
    deps.terminal.interactive,
    needsPassphrase(stackFileOf(deps.root, args.stack), backend.url),
    deps.cwd,
    args.stack,
  );

  const pulumiCommand = await projectCli(deps.root, deps.installer, say, deps.sdkVersion);
  say(describeBackend(backend));
  const base: LocalWorkspaceOptions & { workDir: string } = {
    workDir: deps.root,
    pulumiCommand,
    envVars: { PULUMI_SKIP_UPDATE_CHECK: "true" },
  };
  const existing = await stackExists(deps.automation, base, args.stack);
  checkStackCanOpen(deps.root, args.stack, existing, CREATES[args.command]);
  say(`stack ${args.stack}: ${existing ? "exists" : "new, created now from its stack file"}`);
  await confirmDestroy(args, deps);

  const secrets = await passphraseEnv(source, {
    stack: args.stack,
    isNew: !existing,
    localState: isLocalBackend(backend),
    terminal: deps.terminal,
    say: (line) => deps.stderr(`${line}\n`),
  });
  const stack = await openStack(
    deps.automation,
    { ...base, envVars: { ...base.envVars, ...secrets } },
    args.stack,
    CREATES[args.command],
  );
  await runCommand(stack, args, deps);
}
