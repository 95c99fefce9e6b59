/**
 * The wrapper on the real Automation API (LocalWorkspace, PulumiCommand.get) against a fake
 * `pulumi` binary in <root>/.pulumi-cli/bin that logs each call: the commands, their folder and
 * the passphrase reach the CLI as intended. Installing is a test failure (no network here).
 */
import * as fs from "fs";
import * as path from "path";
import { LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";
import { runDeploy } from "../../tools/deployRun";
import { SDK_VERSION } from "../../tools/pulumiCli";
import { kubeconfigText } from "../../tools/kubeconfigFile";
import { failureMessage } from "../../tools/engineError";
import { fakeDeps, tempProject } from "./deployFakes";

/** Answers what the Automation API asks for an up and an outputs of a local program. */
const FAKE_CLI = `#!/usr/bin/env node
const fs = require("fs");
const path = require("path");
const root = path.resolve(__dirname, "..", "..");
const args = process.argv.slice(2);
fs.appendFileSync(path.join(root, "calls.jsonl"), JSON.stringify({
  args, cwd: process.cwd(), passphrase: process.env.PULUMI_CONFIG_PASSPHRASE ?? null,
}) + "\\n");
const stateFile = path.join(root, "stacks.json");
const stacks = fs.existsSync(stateFile) ? JSON.parse(fs.readFileSync(stateFile, "utf8")) : [];
const stack = args.includes("--stack") ? args[args.indexOf("--stack") + 1] : undefined;
const print = (value) => console.log(typeof value === "string" ? value : JSON.stringify(value));
const [cmd, sub] = args;
if (cmd === "version") print("v${SDK_VERSION}");
else if (cmd === "stack" && sub === "ls") print(stacks.map((name) => ({ name, current: false })));
else if (cmd === "stack" && sub === "select" && !stacks.includes(stack)) {
  console.error("error: no stack named '" + stack + "' found");
  process.exit(255);
} else if (cmd === "stack" && sub === "select") print("");
else if (cmd === "stack" && sub === "init") fs.writeFileSync(stateFile, JSON.stringify([...stacks, args[2]]));
else if (cmd === "stack" && sub === "output") {
  const secrets = args.includes("--show-secrets");
  print({ clusterName: "k8s-dev", kubeconfig: secrets ? "apiVersion: v1\\nkind: Config\\n" : "[secret]" });
} else if (cmd === "stack" && sub === "history") {
  print([{ version: 1, kind: "update", startTime: "2025-01-01T00:00:00Z", endTime: "2025-01-01T00:01:00Z",
    message: "", environment: {}, config: {}, result: "succeeded" }]);
} else if (cmd === "up" && stack === "broken") {
  print("Updating (broken):\\n\\nDiagnostics:\\n  pulumi:pulumi:Stack (kubeadm-aws-broken):");
  print("    ConfigError: Invalid cluster configuration (1 problem):\\n      - cni: must be one of flannel, calico");
  print("        at loadConfig (/repo/components/stackConfig.ts:91:11)\\n\\nResources:\\n    1 unchanged");
  console.error("error: update failed");
  process.exit(255);
} else if (cmd === "up") {
  print("Updating (" + stack + "):");
  console.error("a line on stderr");
} else {
  console.error("fake pulumi: unexpected " + args.join(" "));
  process.exit(3);
}
`;

const PASSPHRASE = "test-only-passphrase";
let root: string;

beforeEach(() => {
  root = tempProject(["dev", "broken"]);
  const bin = path.join(root, ".pulumi-cli", "bin");
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(path.join(bin, "pulumi"), FAKE_CLI, { mode: 0o755 });
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const calls = (): { args: string[]; cwd: string; passphrase: string | null }[] =>
  fs
    .readFileSync(path.join(root, "calls.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line));

function realDeps() {
  return fakeDeps(root, {
    env: { PULUMI_CONFIG_PASSPHRASE: PASSPHRASE },
    automation: {
      create: (opts) => LocalWorkspace.create(opts),
      createOrSelectStack: (args, opts) => LocalWorkspace.createOrSelectStack(args, opts),
      selectStack: (args, opts) => LocalWorkspace.selectStack(args, opts),
    },
    installer: {
      get: (opts) => PulumiCommand.get(opts),
      install: async () => {
        throw new Error("the test tried to install the Pulumi CLI");
      },
    },
  });
}

test("up on a new stack: listed, created, updated in the root, with the passphrase", async () => {
  const deps = realDeps();
  await runDeploy({ command: "up", stack: "dev", yes: false }, deps);

  const log = calls();
  const commands = log.map((c) => c.args.slice(0, 2).join(" "));
  expect(commands).toEqual(
    expect.arrayContaining(["version", "stack ls", "stack select", "stack init", "up --yes"]),
  );
  expect(commands.indexOf("stack init")).toBeLessThan(commands.indexOf("up --yes"));
  // PulumiCommand.get's `pulumi version` aside, every command runs in the project folder.
  const inRoot = (c: { cwd: string }) => fs.realpathSync(c.cwd) === fs.realpathSync(root);
  expect(log.filter((c) => c.args[0] !== "version").every(inRoot)).toBe(true);
  const up = log.find((c) => c.args[0] === "up")!;
  expect(up.args).toEqual(expect.arrayContaining(["--stack", "dev", "--color", "never"]));
  expect(up.passphrase).toBe(PASSPHRASE);

  expect(deps.out()).toContain(`Pulumi CLI ${SDK_VERSION} (project-local)`);
  expect(deps.out()).toContain("Updating (dev):");
  expect(deps.err()).toContain("a line on stderr");
  expect(deps.out() + deps.err()).not.toContain(PASSPHRASE);
});

test("outputs on the deployed stack: selected, the kubeconfig written from the secret output", async () => {
  fs.writeFileSync(path.join(root, "stacks.json"), JSON.stringify(["dev"]));
  const deps = realDeps();
  await runDeploy({ command: "outputs", stack: "dev", yes: false, kubeconfig: "kubeconfig" }, deps);

  expect(calls().some((c) => c.args[0] === "stack" && c.args[1] === "init")).toBe(false);
  const file = path.join(root, "kubeconfig");
  expect(fs.readFileSync(file, "utf8")).toBe(
    kubeconfigText("dev", "apiVersion: v1\nkind: Config\n"),
  );
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  expect(deps.out()).toContain("  clusterName: k8s-dev\n");
  expect(deps.out()).not.toContain("kind: Config");
});

test("a failed up rejects with the engine's diagnostics and error, without the stack frames", async () => {
  const deps = realDeps();
  const failure = await runDeploy({ command: "up", stack: "broken", yes: false }, deps).then(
    () => undefined,
    (err: unknown) => err,
  );
  const message = failureMessage(failure, "npm run up (stack broken)");
  expect(message).toContain("npm run up (stack broken) failed:");
  expect(message).toContain("- cni: must be one of flannel, calico");
  expect(message).toContain("error: update failed");
  expect(message).not.toContain("stackConfig.ts:91");
  expect(message).not.toContain("Resources:");
  expect(deps.out()).toContain("ConfigError: Invalid cluster configuration"); // streamed as it came
});
