/**
 * The entry point as npm runs it: the package.json scripts, the exit codes, and the mistakes
 * npm itself produces (a word after the script name, a flag before the lone --). These stop
 * before the Pulumi CLI is looked for, so nothing is installed.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const root = path.resolve(__dirname, "..", "..");
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));

/** The environment without what an outer npm run set, as on a user's shell. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^npm_/i.test(k) && k !== "PULUMI_CONFIG_PASSPHRASE",
    ),
  );
}

function deploy(args: string[]) {
  const run = spawnSync(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", "tools/deploy.ts", ...args],
    { cwd: root, env: cleanEnv(), encoding: "utf8", timeout: 20_000 },
  );
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

test.each(["up", "preview", "destroy", "outputs"])(
  "npm run %s runs tools/deploy.ts with ts-node --transpile-only, like render",
  (command) => {
    expect(pkg.scripts[command]).toBe(`ts-node --transpile-only tools/deploy.ts ${command}`);
  },
);

test("Pulumi.yaml does not depend on the wrapper: the CLI's own pulumi up still works", () => {
  const project = fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8");
  expect(project).not.toMatch(/deploy\.ts|\.pulumi-cli/);
  expect(project).toMatch(/url: file:\/\/~/);
});

test("--help prints the usage on stdout and exits 0", () => {
  const run = deploy(["destroy", "--help"]);
  expect(run.code).toBe(0);
  expect(run.stdout).toContain("Usage: npm run destroy -- --stack NAME [--yes]");
});

test("a stray word exits 2 with the right form, before any CLI is looked for", () => {
  const run = deploy(["up", "prod"]);
  expect(run.code).toBe(2);
  expect(run.stderr).toContain("npm run up -- --stack prod");
  expect(run.stdout).not.toContain("Pulumi CLI");
});

test("through npm: `npm run up prod` and `npm run up --stack prod` both show the right form", () => {
  const npm = (args: string[]) =>
    spawnSync("npm", ["run", "--silent", ...args], {
      cwd: root,
      env: cleanEnv(),
      encoding: "utf8",
      timeout: 30_000,
    });
  const word = npm(["up", "prod"]);
  expect(word.status).toBe(2);
  expect(word.stderr).toContain('unexpected word "prod"');
  expect(word.stderr).toContain("npm run up -- --stack prod");

  const flag = npm(["up", "--stack", "prod"]);
  expect(flag.status).toBe(2);
  expect(flag.stderr).toContain("npm took --stack for itself");
  expect(flag.stderr).toContain("npm run up -- --stack prod");
});
