/**
 * A whole run over fakes: progress streamed, failures reported with the engine's message and no
 * stack trace, destroy confirmed by typing the stack's name, refusals before any download.
 */
import * as fs from "fs";
import { runDeploy } from "../../tools/deployRun";
import { DeployError, diagnosticsOf, failureMessage } from "../../tools/engineError";
import { fakeAutomation, fakeDeps, fakeInstaller, fakeTerminal, tempProject } from "./deployFakes";

const PASS = { PULUMI_CONFIG_PASSPHRASE: "test-only-passphrase" };
let root: string;
beforeEach(() => (root = tempProject()));
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

/** What the CLI prints when the program's config check fails (the language host adds frames). */
const CONFIG_FAILURE_STDOUT = [
  "Updating (dev):",
  "     Type                 Name            Status",
  " +   pulumi:pulumi:Stack  kubeadm-aws-dev  **failed**     1 error",
  "",
  "Diagnostics:",
  "  pulumi:pulumi:Stack (kubeadm-aws-dev):",
  "    error: Running program '/work/main' failed with an unhandled exception:",
  "    ConfigError: Invalid cluster configuration (2 problems):",
  "      - workers.count: must be at least 0 (got -1)",
  '      - cni: must be one of flannel, calico (got "weave")',
  "        at loadConfig (/work/main/components/stackConfig.ts:91:11)",
  "        at /work/main/index.ts:10:18",
  "",
  "Resources:",
  "    1 unchanged",
  "",
].join("\n");

/**
 * A CommandError as the Automation API throws it for a CLI that exits non-zero: execa's message
 * (the command, then stderr, then stdout) as the result's stderr, stdout empty.
 */
function commandError(stdout: string, stderr: string): Error {
  const execa = `Command failed with exit code 255: pulumi up --yes --stack dev\n${stderr}\n${stdout}`;
  const err = new Error(`code: -2\n stdout: \n stderr: ${execa}\n err?: Error\n`);
  err.name = "CommandError";
  return Object.assign(err, { commandResult: { stdout: "", stderr: execa, code: -2 } });
}

describe("progress and results", () => {
  test("up streams the engine's stdout to stdout and its stderr to stderr", async () => {
    const automation = fakeAutomation({
      out: ["Updating (dev)\n", "+ 12 created\n"],
      err: ["warning: x\n"],
    });
    const deps = fakeDeps(root, { automation, env: PASS, color: "always" });
    await runDeploy({ command: "up", stack: "dev", yes: false }, deps);
    expect(deps.out()).toContain("Updating (dev)\n+ 12 created\n");
    expect(deps.err()).toContain("warning: x\n");
    expect(automation.stackCalls[0]!.opts!.color).toBe("always");
    expect(deps.out()).toContain("The kubeconfig: npm run outputs -- --stack dev");
  });

  test.each(["preview", "destroy"] as const)(
    "%s streams too and calls only its operation",
    async (command) => {
      const automation = fakeAutomation({ existing: ["dev"], out: ["progress line\n"] });
      const deps = fakeDeps(root, { automation, env: PASS });
      await runDeploy({ command, stack: "dev", yes: true }, deps);
      expect(automation.stackCalls.map((c) => c.method)).toEqual([command]);
      expect(deps.out()).toContain("progress line\n");
    },
  );

  test("a failed update rejects with the engine's error, and runs nothing more", async () => {
    const failure = commandError(CONFIG_FAILURE_STDOUT, "error: update failed\n");
    const automation = fakeAutomation({ fail: failure });
    const deps = fakeDeps(root, { automation, env: PASS });
    await expect(runDeploy({ command: "up", stack: "dev", yes: false }, deps)).rejects.toBe(
      failure,
    );
    expect(deps.out()).not.toContain("is up");
  });
});

test("the entry is told while the engine runs (Ctrl-C is the CLI's then), also on a failure", async () => {
  const states: boolean[] = [];
  const automation = fakeAutomation({ fail: new Error("boom") });
  const deps = fakeDeps(root, { automation, env: PASS, engineRunning: (r) => states.push(r) });
  await expect(runDeploy({ command: "up", stack: "dev", yes: false }, deps)).rejects.toThrow(
    "boom",
  );
  expect(states).toEqual([true, false]);
});

describe("the failure message", () => {
  const message = failureMessage(
    commandError(CONFIG_FAILURE_STDOUT, "error: update failed\n"),
    "npm run up (stack dev)",
  );

  test("lists every problem the program's config check found", () => {
    expect(message).toContain("npm run up (stack dev) failed:");
    expect(message).toContain("workers.count: must be at least 0 (got -1)");
    expect(message).toContain('cni: must be one of flannel, calico (got "weave")');
    expect(message).toContain("error: update failed");
  });

  test("without the stack frames and the rest of the log", () => {
    expect(message).not.toMatch(/^\s+at /m);
    expect(message).not.toContain("stackConfig.ts:91");
    expect(message).not.toContain("Resources:");
    expect(message).not.toContain("Command failed with exit code");
    expect(message).not.toContain("code: -2");
  });

  test("a wrong passphrase gets a hint", () => {
    const wrong = commandError("", "error: constructing secrets manager: incorrect passphrase\n");
    expect(failureMessage(wrong, "x")).toContain("is not the one this stack was created with");
  });

  test("the wrapper's own refusals are printed as they are", () => {
    expect(failureMessage(new DeployError("plain words"), "x")).toBe("plain words");
  });

  test("the same when the CLI's stdout comes apart from its stderr", () => {
    const err = Object.assign(new Error("x"), {
      commandResult: { stdout: CONFIG_FAILURE_STDOUT, stderr: "error: update failed\n" },
    });
    expect(failureMessage(err, "npm run up (stack dev)")).toBe(message);
  });

  test("without a Diagnostics section, the last lines the CLI printed, minus execa's line", () => {
    const err = commandError("", "error: could not load plugin aws: no network\n");
    expect(failureMessage(err, "x")).toBe(
      "x failed:\nerror: could not load plugin aws: no network",
    );
  });

  test("diagnostics stop at the next section", () => {
    const lines = "a\nDiagnostics:\n  x\n    error: y\nOutputs:\n  z\n".split("\n");
    expect(diagnosticsOf(lines)).toEqual(["  x", "    error: y"]);
    expect(diagnosticsOf(["no diagnostics here"])).toEqual([]);
  });
});

describe("destroy", () => {
  test("asks for the stack's name on a terminal and destroys when it is typed", async () => {
    const terminal = fakeTerminal(["dev"]);
    const automation = fakeAutomation({ existing: ["dev"] });
    const deps = fakeDeps(root, { automation, terminal, env: PASS });
    await runDeploy({ command: "destroy", stack: "dev", yes: false }, deps);
    expect(terminal.prompts).toEqual([expect.stringContaining("Type the stack name (dev)")]);
    expect(automation.stackCalls.map((c) => c.method)).toEqual(["destroy"]);
  });

  test("another answer destroys nothing", async () => {
    const automation = fakeAutomation({ existing: ["dev"] });
    const deps = fakeDeps(root, { automation, terminal: fakeTerminal(["yes"]), env: PASS });
    await expect(runDeploy({ command: "destroy", stack: "dev", yes: false }, deps)).rejects.toThrow(
      '"yes" is not dev: nothing was destroyed',
    );
    expect(automation.stackCalls).toEqual([]);
    expect(automation.opened).toEqual([]);
  });

  test("without a terminal and without --yes it refuses before installing anything", async () => {
    const installer = fakeInstaller();
    const deps = fakeDeps(root, { installer, env: PASS });
    await expect(runDeploy({ command: "destroy", stack: "dev", yes: false }, deps)).rejects.toThrow(
      /stdin is not a terminal to ask: add --yes after the lone --:\n {2}npm run destroy -- --stack dev --yes/,
    );
    expect(installer.calls).toEqual([]);
  });

  test("--yes destroys without a question, terminal or not", async () => {
    const automation = fakeAutomation({ existing: ["dev"] });
    const terminal = fakeTerminal([], false);
    await runDeploy(
      { command: "destroy", stack: "dev", yes: true },
      fakeDeps(root, { automation, terminal, env: PASS }),
    );
    expect(terminal.prompts).toEqual([]);
    expect(automation.stackCalls.map((c) => c.method)).toEqual(["destroy"]);
  });
});

describe("the passphrase in a run", () => {
  test("no terminal and no PULUMI_CONFIG_PASSPHRASE: refused before installing anything", async () => {
    const installer = fakeInstaller();
    const deps = fakeDeps(root, { installer });
    await expect(runDeploy({ command: "up", stack: "dev", yes: false }, deps)).rejects.toThrow(
      /set PULUMI_CONFIG_PASSPHRASE/,
    );
    expect(installer.calls).toEqual([]);
  });

  test("a new stack on a terminal: asked twice, passed in envVars, printed nowhere", async () => {
    const terminal = fakeTerminal(["s3cr3t-typed", "s3cr3t-typed"]);
    const automation = fakeAutomation();
    const deps = fakeDeps(root, { automation, terminal });
    await runDeploy({ command: "up", stack: "dev", yes: false }, deps);
    expect(terminal.prompts).toHaveLength(2);
    expect(automation.opened[0]!.opts.envVars).toMatchObject({
      PULUMI_CONFIG_PASSPHRASE: "s3cr3t-typed",
    });
    expect(deps.err()).toContain("cannot be recovered");
    expect(deps.out() + deps.err()).not.toContain("s3cr3t-typed");
  });

  test("an existing stack on a terminal: asked once", async () => {
    const terminal = fakeTerminal(["s3cr3t-typed"]);
    const deps = fakeDeps(root, { automation: fakeAutomation({ existing: ["dev"] }), terminal });
    await runDeploy({ command: "preview", stack: "dev", yes: false }, deps);
    expect(terminal.prompts).toEqual(["Passphrase for stack dev: "]);
  });

  test("the listing of stacks runs without the passphrase", async () => {
    const automation = fakeAutomation({ existing: ["dev"] });
    await runDeploy(
      { command: "preview", stack: "dev", yes: false },
      fakeDeps(root, { automation, env: PASS }),
    );
    expect(automation.created[0]!.envVars).not.toHaveProperty("PULUMI_CONFIG_PASSPHRASE");
  });
});
