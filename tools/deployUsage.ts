/**
 * The deploy wrapper's --help text, from the command table of deployArgs.ts.
 */
import {
  COMMANDS,
  DEFAULT_KUBECONFIG,
  DEFAULT_STACK,
  SPECS,
  usageLine,
  type DeployCommand,
  type Flag,
} from "./deployArgs";

/** The help text: every command, or one command's flags. */
export function usage(command?: DeployCommand): string {
  const flagHelp: Record<Flag | "help", string> = {
    stack: `--stack NAME       the stack, configured in Pulumi.NAME.yaml; required for up and destroy,\n                     ${DEFAULT_STACK} by default for preview and outputs`,
    yes: "--yes, -y          destroy only: do not ask to type the stack name (needed without a terminal)",
    kubeconfig: `--kubeconfig FILE  outputs only: where to write the kubeconfig (default ./${DEFAULT_KUBECONFIG})`,
    snapshot:
      "--snapshot KEY     etcd-restore only: the snapshot's key in the backup bucket (default: the newest)",
    json: "--json             drift only: the report as JSON",
    outputs:
      "--outputs FILE     drift only: the outputs and plan from a file, without the stack (tests)",
    help: "--help, -h         this help",
  };
  const commands = command ? [command] : COMMANDS;
  const flags: (Flag | "help")[] = command
    ? ["stack", ...SPECS[command].flags, "help"]
    : ["stack", "yes", "kubeconfig", "snapshot", "json", "outputs", "help"];
  return [
    `Usage: ${command ? usageLine(command) : "npm run <command> -- [flags]"}`,
    "  (npm passes on only what follows a lone --)",
    "",
    "Commands:",
    ...commands.map(
      (c) => `  ${c.padEnd(13)}  ${SPECS[c].summary}\n                 ${usageLine(c)}`,
    ),
    "",
    "Flags:",
    ...flags.map((f) => `  ${flagHelp[f]}`),
    "",
    "Environment:",
    "  PULUMI_CONFIG_PASSPHRASE, PULUMI_CONFIG_PASSPHRASE_FILE",
    "                     the passphrase of the stack's secrets; without them it is asked for",
    "  PULUMI_BACKEND_URL where the state is kept (default: Pulumi.yaml's file://~, ~/.pulumi)",
    "",
    "The Pulumi CLI of the @pulumi/pulumi version in node_modules is installed into .pulumi-cli/",
    "on first use; a Pulumi CLI of your own is not needed (and `pulumi up` works as well).",
  ].join("\n");
}
