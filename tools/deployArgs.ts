/**
 * The command line of the deploy wrapper (`npm run up|preview|destroy|outputs -- --stack S`), as
 * data: no I/O. npm hands the script the words after its name, and keeps for itself the flags
 * that come before a lone `--`; the messages below catch both mistakes and show the right form.
 */

export const COMMANDS = [
  "up",
  "preview",
  "destroy",
  "outputs",
  "etcd-snapshot",
  "etcd-restore",
  "drift",
] as const;
export type DeployCommand = (typeof COMMANDS)[number];

export interface DeployArgs {
  command: DeployCommand;
  stack: string;
  /** destroy only: skip the typed confirmation. */
  yes: boolean;
  /** outputs only: where the kubeconfig goes, relative to the current directory. */
  kubeconfig?: string;
  /** etcd-restore only: the snapshot's key in the backup bucket (default: the newest). */
  snapshot?: string;
  /** drift only: print JSON instead of the table. */
  json?: boolean;
  /** drift only: read the outputs and the plan from this file instead of the stack (tests). */
  outputs?: string;
}

export type ParsedArgs = { help: true; command?: DeployCommand } | ({ help: false } & DeployArgs);

/** A mistake on the command line: printed as is, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export type Flag = "stack" | "yes" | "kubeconfig" | "snapshot" | "json" | "outputs";

interface CommandSpec {
  summary: string;
  /** The flags this command takes besides --stack and --help. */
  flags: readonly Flag[];
  /** No default stack: a typo or a forgotten flag must not touch the wrong stack. */
  stackRequired: boolean;
  form: string;
}

export const SPECS: Record<DeployCommand, CommandSpec> = {
  up: {
    summary: "deploy or update the stack (applies without asking: run preview first to see)",
    flags: [],
    stackRequired: true,
    form: "--stack NAME",
  },
  preview: {
    summary: "show what up would change, change nothing",
    flags: [],
    stackRequired: false,
    form: "[--stack NAME]",
  },
  destroy: {
    summary: "delete every resource of the stack (asks you to type its name)",
    flags: ["yes"],
    stackRequired: true,
    form: "--stack NAME [--yes]",
  },
  outputs: {
    summary: "write the kubeconfig (mode 0600) and print the other outputs",
    flags: ["kubeconfig"],
    stackRequired: false,
    form: "[--stack NAME] [--kubeconfig FILE]",
  },
  "etcd-snapshot": {
    summary: "take an etcd snapshot now, into the stack's backup bucket",
    flags: [],
    stackRequired: true,
    form: "--stack NAME",
  },
  "etcd-restore": {
    summary:
      "restore etcd on every control plane from a snapshot (asks you to type the stack name)",
    flags: ["snapshot", "yes"],
    stackRequired: true,
    form: "--stack NAME [--snapshot KEY] [--yes]",
  },
  drift: {
    summary: "compare the live machines with the plan, change nothing; exit 1 on drift",
    flags: ["json", "outputs"],
    stackRequired: false,
    form: "[--stack NAME] [--json] [--outputs FILE]",
  },
};

export const DEFAULT_STACK = "dev";
export const DEFAULT_KUBECONFIG = "kubeconfig";

const FLAG_NAMES: Record<string, Flag> = {
  "--stack": "stack",
  "-s": "stack",
  "--yes": "yes",
  "-y": "yes",
  "--kubeconfig": "kubeconfig",
  "--snapshot": "snapshot",
  "--json": "json",
  "--outputs": "outputs",
};
const TAKES_VALUE: Record<Flag, boolean> = {
  stack: true,
  yes: false,
  kubeconfig: true,
  snapshot: true,
  json: false,
  outputs: true,
};
/** Why a flag is refused where it does not belong. */
const WHY_NOT: Record<Flag, string> = {
  stack: "",
  yes: ": only destroy and etcd-restore ask before they act (up applies without asking; preview shows the changes)",
  kubeconfig: ": npm run outputs -- --stack NAME --kubeconfig FILE writes the file",
  snapshot: ": npm run etcd-restore -- --stack NAME --snapshot KEY restores that snapshot",
  json: ": npm run drift -- --stack NAME --json prints the drift report as JSON",
  outputs: ": npm run drift -- --outputs FILE reads a saved report input",
};
/** Which commands take a flag, for the message when another command is given it. */
const OWNERS: Record<Flag, string> = {
  stack: "every command",
  yes: "destroy and etcd-restore",
  kubeconfig: "outputs",
  snapshot: "etcd-restore",
  json: "drift",
  outputs: "drift",
};
/** Pulumi's stack names, optionally qualified as org/stack or org/project/stack. */
const STACK_NAME = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+){0,2}$/;

export interface ParseOptions {
  /** The environment npm gives the script: npm_config_<flag> says npm took that flag. */
  env?: Record<string, string | undefined>;
  /** The stacks that have a Pulumi.<stack>.yaml, named in messages. */
  stacks?: readonly string[];
}

export const usageLine = (command: DeployCommand): string =>
  `npm run ${command} -- ${SPECS[command].form}`;

/**
 * The flags npm kept for itself (they came before the lone `--`), and the right form: npm leaves
 * a taken flag's value behind as a word, which is its value when there is one of each.
 */
function npmTookFlags(
  command: DeployCommand,
  env: Record<string, string | undefined>,
  given: Partial<Record<Flag, string>>,
  words: readonly string[],
): { took: string[]; right: string } {
  const placeholder = { stack: "NAME", kubeconfig: "FILE" };
  const taken = (["stack", "kubeconfig"] as const).filter(
    (f) => (env[`npm_config_${f}`] ?? "") !== "" && given[f] === undefined,
  );
  const value = (f: keyof typeof placeholder) =>
    taken.length === 1 && words.length === 1 ? words[0] : placeholder[f];
  return {
    took: taken.map((f) => `--${f}`),
    right: `npm run ${command} -- ${taken.map((f) => `--${f} ${value(f)}`).join(" ")}`,
  };
}

function fail(command: DeployCommand, problem: string, rightForm?: string): never {
  throw new UsageError(
    `npm run ${command}: ${problem}\n  ${rightForm ?? usageLine(command)}\n` +
      `(npm run ${command} -- --help for more)`,
  );
}

function parseCommand(word: string | undefined): DeployCommand {
  if (word !== undefined && (COMMANDS as readonly string[]).includes(word)) {
    return word as DeployCommand;
  }
  throw new UsageError(
    `${word === undefined ? "no command" : `unknown command "${word}"`}: use one of ` +
      `${COMMANDS.join(", ")}, e.g. npm run up -- --stack ${DEFAULT_STACK}`,
  );
}

/** Splits the flags from the words; checks each flag against the command. */
function readFlags(command: DeployCommand, words: readonly string[]) {
  const values: Partial<Record<Flag, string>> = {};
  const positionals: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (word === "--") continue;
    if (!word.startsWith("-") || word === "-") {
      positionals.push(word);
      continue;
    }
    const eq = word.indexOf("=");
    const name = eq > 0 ? word.slice(0, eq) : word;
    const inline = eq > 0 ? word.slice(eq + 1) : undefined;
    const flag = FLAG_NAMES[name];
    if (flag === undefined) fail(command, `unknown flag ${name}`);
    if (flag !== "stack" && !SPECS[command].flags.includes(flag)) {
      fail(command, `--${flag} is for ${OWNERS[flag]} only${WHY_NOT[flag]}`);
    }
    if (values[flag] !== undefined) fail(command, `--${flag} is given twice`);
    if (!TAKES_VALUE[flag]) {
      if (inline !== undefined) fail(command, `--${flag} takes no value`);
      values[flag] = "true";
      continue;
    }
    const value = inline ?? words[i + 1];
    if (value === undefined || value === "" || (inline === undefined && value.startsWith("-"))) {
      fail(command, `--${flag} needs a value`);
    }
    if (inline === undefined) i++;
    values[flag] = value;
  }
  return { values, positionals };
}

/**
 * `argv` is what follows the script: the command (set by package.json), then the user's words.
 * Throws a UsageError for any mistake; `--help` anywhere wins over the other words.
 */
export function parseDeployArgs(argv: readonly string[], options: ParseOptions = {}): ParsedArgs {
  const env = options.env ?? {};
  const [first, ...words] = argv;
  const wantsHelp = words.some((w) => w === "--help" || w === "-h");
  if (wantsHelp && !(COMMANDS as readonly string[]).includes(first ?? "")) return { help: true };
  const command = parseCommand(first);
  if (wantsHelp) return { help: true, command };

  const { values, positionals } = readFlags(command, words);
  const npm = npmTookFlags(command, env, values, positionals);
  if (npm.took.length > 0) {
    fail(
      command,
      `npm took ${npm.took.join(" and ")} for itself (it keeps the flags before a lone --); ` +
        "put the flags after it",
      npm.right,
    );
  }
  if (positionals.length > 0) {
    fail(
      command,
      `unexpected word "${positionals[0]}": npm passes the words after the script name on, ` +
        "but the stack is named with --stack after a lone --",
      values.stack === undefined ? `npm run ${command} -- --stack ${positionals[0]}` : undefined,
    );
  }
  const known = options.stacks?.length ? ` Stacks here: ${options.stacks.join(", ")}.` : "";
  if (values.stack === undefined && SPECS[command].stackRequired) {
    fail(
      command,
      `--stack is required for ${command} (no default, so that it never runs on a stack by ` +
        `mistake).${known}`,
      `npm run ${command} -- --stack ${DEFAULT_STACK}`,
    );
  }
  const stack = values.stack ?? DEFAULT_STACK;
  if (!STACK_NAME.test(stack)) {
    fail(command, `"${stack}" is not a stack name (letters, digits, - _ . and /).${known}`);
  }
  return {
    help: false,
    command,
    stack,
    yes: values.yes === "true",
    ...(command === "outputs" ? { kubeconfig: values.kubeconfig ?? DEFAULT_KUBECONFIG } : {}),
    ...(values.snapshot !== undefined ? { snapshot: values.snapshot } : {}),
    ...(values.json === "true" ? { json: true } : {}),
    ...(values.outputs !== undefined ? { outputs: values.outputs } : {}),
  };
}
