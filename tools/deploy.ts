/**
 * The deploy wrapper's entry point, behind `npm run up|preview|destroy|outputs -- --stack S`:
 * the Automation API with a project-local Pulumi CLI, so that Node.js, npm and AWS credentials
 * are all a deploy needs. Nothing in the project depends on it: `pulumi up` works as before.
 *
 * Exit codes: 0 done, 1 failed (the message says why), 2 a command-line mistake, 130 stopped
 * at a prompt.
 */
import * as path from "path";
import { parseDeployArgs, UsageError, type DeployArgs } from "./deployArgs";
import { usage } from "./deployUsage";
import { stackFiles } from "./stackBackend";

const ROOT = path.resolve(__dirname, "..");

/**
 * While the engine runs, Ctrl-C reaches the CLI too (same process group) and it stops cleanly;
 * this process stays to show how that ends instead of dying and cutting the CLI's output. At
 * any other time (a prompt, a listing) Ctrl-C stops at once.
 */
function handleInterrupts(): (running: boolean) => void {
  let engineRunning = false;
  let count = 0;
  process.on("SIGINT", () => {
    count++;
    if (!engineRunning || count >= 3) {
      process.stderr.write("\ninterrupted\n");
      process.exit(130);
    }
    process.stderr.write(
      count === 1
        ? "\ninterrupted: the Pulumi CLI is stopping cleanly, wait for it (Ctrl-C again to hurry it)\n"
        : "\ninterrupted again: the CLI stops at once; a third Ctrl-C leaves without waiting\n",
    );
  });
  return (running) => (engineRunning = running);
}

async function run(args: DeployArgs): Promise<number> {
  // Loaded only now, so a command-line mistake is reported at once.
  const { LocalWorkspace, PulumiCommand } = await import("@pulumi/pulumi/automation");
  const { runDeploy } = await import("./deployRun");
  const { failureMessage } = await import("./engineError");
  const { processTerminal, PromptInterrupted } = await import("./terminal");
  const engineRunning = handleInterrupts();
  try {
    await runDeploy(args, {
      root: ROOT,
      cwd: process.cwd(),
      env: process.env,
      automation: {
        create: (opts) => LocalWorkspace.create(opts),
        createOrSelectStack: (a, opts) => LocalWorkspace.createOrSelectStack(a, opts),
        selectStack: (a, opts) => LocalWorkspace.selectStack(a, opts),
      },
      installer: {
        get: (opts) => PulumiCommand.get(opts),
        install: (opts) => PulumiCommand.install(opts),
      },
      terminal: processTerminal(),
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
      color: process.stdout.isTTY ? "always" : "never",
      engineRunning,
    });
    return 0;
  } catch (err) {
    process.stderr.write(
      `\n${failureMessage(err, `npm run ${args.command} (stack ${args.stack})`)}\n`,
    );
    return err instanceof PromptInterrupted ? 130 : 1;
  }
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseDeployArgs(argv, { env: process.env, stacks: stackFiles(ROOT) });
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(`${usage(parsed.command)}\n`);
    return 0;
  }
  return run(parsed);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  },
);
