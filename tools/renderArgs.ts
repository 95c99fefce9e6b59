/**
 * The command line of `npm run render`, parsed strictly: a typo or a misplaced word stops the
 * run with the right form instead of rendering the wrong stack. Kept apart from the CLI so a
 * test calls it directly.
 */
import * as fs from "fs";
import * as path from "path";
import { stackNames } from "./stackFiles";

export { stackNames } from "./stackFiles";

export const EXAMPLE = "npm run render -- --stack prod";

export const USAGE_LINE = "usage: npm run render -- --stack NAME [--out DIR]  (--help for more)";

export const USAGE = [
  "usage: npm run render -- --stack NAME [--out DIR]",
  "",
  "Evaluates the program under mocks with Pulumi.NAME.yaml (no cloud access) and writes what",
  "will run on each machine, for review: 00-summary.md, lib/, one folder per node, cluster/.",
  "",
  "  --stack NAME  the stack to render (required): its Pulumi.NAME.yaml is read",
  "  --out DIR     the output folder (default rendered/NAME); a previous render there is replaced",
  "  --help        this text",
  "",
  `The -- matters: without it npm takes the flags as its own. Example: ${EXAMPLE}`,
].join("\n");

/** A command line that cannot run: the message says what is wrong and shows the right form. */
export class UsageError extends Error {}

export type RenderCommand =
  | { readonly kind: "help" }
  | { readonly kind: "render"; readonly stack: string; readonly out: string };

const FLAGS = ["stack", "out", "help"] as const;
type Flag = (typeof FLAGS)[number];

/** Pulumi's stack names: letters, digits, '-', '_' and '.'. */
const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** The known flag closest to a mistyped one, if any is close. */
function suggestion(word: string): Flag | undefined {
  const distance = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let diagonal = row[0]!;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const above = row[j]!;
        row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
        diagonal = above;
      }
    }
    return row[b.length]!;
  };
  const prefixed = FLAGS.find(
    (f) => word.length >= 2 && (f.startsWith(word) || word.startsWith(f)),
  );
  if (prefixed) return prefixed;
  const best = [...FLAGS].sort((a, b) => distance(word, a) - distance(word, b))[0]!;
  return distance(word, best) <= 2 ? best : undefined;
}

/**
 * npm takes the flags before a `--` for itself and records each as `npm_config_<flag>`; the
 * script then sees only the words that followed them. Says so, if that is what happened.
 */
function npmKept(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const kept = FLAGS.filter((f) => env[`npm_config_${f}`] !== undefined);
  if (kept.length === 0) return undefined;
  return (
    `npm kept ${kept.map((f) => `--${f}`).join(" and ")} for itself, because flags for the ` +
    "script must come after --"
  );
}

/**
 * Parses the arguments after the script name (`process.argv.slice(2)`). `env` is the process
 * environment: npm records a flag it took for itself as `npm_config_<flag>`, which tells a
 * missing `--` apart from a plain positional word.
 */
export function parseRenderArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): RenderCommand {
  const values = new Map<Flag, string>();
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-h") {
      help = true;
      continue;
    }
    if (!arg.startsWith("-")) {
      throw new UsageError(
        `unexpected argument ${JSON.stringify(arg)}: ` +
          (npmKept(env) ?? "name the stack with --stack, after -- so that npm passes it on") +
          `. Use: ${EXAMPLE}`,
      );
    }
    const eq = arg.indexOf("=");
    const name = (eq >= 0 ? arg.slice(2, eq) : arg.slice(2)) as Flag;
    if (!arg.startsWith("--") || !FLAGS.includes(name)) {
      const close = suggestion(name);
      throw new UsageError(
        `unknown option ${arg.split("=")[0]}${close ? ` (did you mean --${close}?)` : ""}; ` +
          `the options are --stack NAME, --out DIR and --help. Use: ${EXAMPLE}`,
      );
    }
    if (name === "help") {
      if (eq >= 0) throw new UsageError(`--help takes no value (got ${arg})`);
      help = true;
      continue;
    }
    if (values.has(name)) throw new UsageError(`--${name} is given twice; give it once`);
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith("-")) value = argv[++i];
    if (!value) {
      const shape = name === "stack" ? "--stack NAME" : "--out DIR";
      throw new UsageError(`${arg.split("=")[0]} needs a value (${shape}). Use: ${EXAMPLE}`);
    }
    values.set(name, value);
  }
  if (help) return { kind: "help" };
  const stack = values.get("stack");
  if (stack === undefined) {
    const hint = npmKept(env) ?? "--stack NAME is required";
    throw new UsageError(`no stack given: ${hint}. Use: ${EXAMPLE}`);
  }
  if (!STACK_NAME.test(stack)) {
    throw new UsageError(
      `--stack ${JSON.stringify(stack)} is not a stack name (letters, digits, '-', '_', '.'). Use: ${EXAMPLE}`,
    );
  }
  return { kind: "render", stack, out: values.get("out") ?? path.join("rendered", stack) };
}

/** Throws a UsageError naming the stack files that exist when the stack has none. */
export function checkStackExists(stack: string, projectDir: string): void {
  if (fs.existsSync(path.join(projectDir, `Pulumi.${stack}.yaml`))) return;
  const stacks = stackNames(projectDir);
  throw new UsageError(
    `there is no Pulumi.${stack}.yaml in ${projectDir}; ` +
      (stacks.length > 0
        ? `the stack files are ${stacks.map((s) => `Pulumi.${s}.yaml`).join(", ")}, e.g. npm run render -- --stack ${stacks[0]}`
        : "it has no Pulumi.<stack>.yaml at all"),
  );
}
