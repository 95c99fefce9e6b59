/**
 * The command line of `npm run render`: strict, and every mistake answered with the right form.
 * npm passes the words after `npm run render` on as arguments, but keeps the flags before a
 * `--` for itself (recording each as npm_config_<flag>), which is the usual mistake.
 */
import { execFile } from "child_process";
import * as path from "path";
import {
  checkStackExists,
  EXAMPLE,
  parseRenderArgs,
  stackNames,
  USAGE,
  UsageError,
} from "../../tools/renderArgs";

const root = path.resolve(__dirname, "..", "..");

/** The UsageError message parseRenderArgs throws for a command line. */
function refusal(argv: string[], env: Record<string, string> = {}): string {
  try {
    parseRenderArgs(argv, env);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error(`accepted ${argv.join(" ")}`);
}

test("--stack NAME renders into rendered/NAME unless --out says where", () => {
  expect(parseRenderArgs(["--stack", "prod"])).toEqual({
    kind: "render",
    stack: "prod",
    out: path.join("rendered", "prod"),
  });
  expect(parseRenderArgs(["--out", "/tmp/x", "--stack", "dev"])).toEqual({
    kind: "render",
    stack: "dev",
    out: "/tmp/x",
  });
  expect(parseRenderArgs(["--stack=prod", "--out=review"])).toEqual({
    kind: "render",
    stack: "prod",
    out: "review",
  });
});

test("--help (or -h) asks for the usage, whatever else is there", () => {
  expect(parseRenderArgs(["--help"])).toEqual({ kind: "help" });
  expect(parseRenderArgs(["-h"])).toEqual({ kind: "help" });
  expect(parseRenderArgs(["--stack", "prod", "--help"])).toEqual({ kind: "help" });
  expect(USAGE).toContain("usage: npm run render -- --stack NAME [--out DIR]");
  expect(USAGE).toContain(EXAMPLE);
});

test("an unknown flag is refused, with the flag it resembles", () => {
  expect(refusal(["--stak", "prod"])).toBe(
    "unknown option --stak (did you mean --stack?); the options are --stack NAME, --out DIR and --help. " +
      "Use: npm run render -- --stack prod",
  );
  expect(refusal(["--stack", "prod", "--output", "x"])).toContain(
    "unknown option --output (did you mean --out?)",
  );
  expect(refusal(["--stack", "prod", "--verbose"])).toMatch(/^unknown option --verbose; /);
  expect(refusal(["-s", "prod"])).toMatch(/^unknown option -s; /);
});

test("a flag without its value is refused", () => {
  expect(refusal(["--stack"])).toBe(
    "--stack needs a value (--stack NAME). Use: npm run render -- --stack prod",
  );
  expect(refusal(["--stack", "--out", "x"])).toContain("--stack needs a value");
  expect(refusal(["--stack", "prod", "--out"])).toContain("--out needs a value (--out DIR)");
  expect(refusal(["--stack="])).toContain("--stack needs a value");
});

test("a positional word is refused with the right form", () => {
  // `npm run render prod`
  expect(refusal(["prod"])).toBe(
    'unexpected argument "prod": name the stack with --stack, after -- so that npm passes it on. ' +
      "Use: npm run render -- --stack prod",
  );
  // `npm run render --stack prod`: npm keeps --stack and passes prod on.
  expect(refusal(["prod"], { npm_config_stack: "true" })).toBe(
    'unexpected argument "prod": npm kept --stack for itself, because flags for the script must ' +
      "come after --. Use: npm run render -- --stack prod",
  );
  expect(refusal(["--stack", "prod", "extra"])).toContain('unexpected argument "extra"');
});

test("no stack, a stack given twice or a stack name that is not one is refused", () => {
  expect(refusal([])).toBe(
    "no stack given: --stack NAME is required. Use: npm run render -- --stack prod",
  );
  // `npm run render --stack=prod`
  expect(refusal([], { npm_config_stack: "prod" })).toContain(
    "no stack given: npm kept --stack for itself, because flags for the script must come after --",
  );
  expect(refusal(["--stack", "a", "--stack", "b"])).toBe("--stack is given twice; give it once");
  expect(refusal(["--stack", "../prod"])).toContain('--stack "../prod" is not a stack name');
});

test("a stack without a stack file names the stack files there are", () => {
  expect(stackNames(root)).toEqual(expect.arrayContaining(["dev", "prod"]));
  expect(() => checkStackExists("prod", root)).not.toThrow();
  expect(() => checkStackExists("staging", root)).toThrow(
    new UsageError(
      `there is no Pulumi.staging.yaml in ${root}; the stack files are ` +
        `${stackNames(root)
          .map((s) => `Pulumi.${s}.yaml`)
          .join(", ")}, e.g. npm run render -- --stack dev`,
    ),
  );
});

/** Runs the CLI as npm does (ts-node, from the project folder). */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["-r", "ts-node/register/transpile-only", "tools/render.ts", ...args],
      { cwd: root, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" } },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test("the CLI exits 1 on a bad command line and prints the usage on --help", async () => {
  const [positional, missing, help] = await Promise.all([
    cli(["prod"]),
    cli(["--stack", "staging"]),
    cli(["--help"]),
  ]);
  expect(positional.code).toBe(1);
  expect(positional.stderr).toContain("Use: npm run render -- --stack prod");
  expect(positional.stdout).toBe("");
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain("there is no Pulumi.staging.yaml");
  expect(missing.stderr).toContain("Pulumi.dev.yaml, Pulumi.prod.yaml");
  expect(help.code).toBe(0);
  expect(help.stdout.trim()).toBe(USAGE);
});
