/**
 * Which backend and which stack a run uses: Pulumi.yaml's file://~ unless PULUMI_BACKEND_URL
 * says otherwise, the stack created or selected in the repository root with the project CLI.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runDeploy } from "../../tools/deployRun";
import { backendOf, describeBackend, stackExists, stackFiles } from "../../tools/stackBackend";
import { fakeAutomation, fakeDeps, fakeInstaller, tempProject } from "./deployFakes";

const PASS = { PULUMI_CONFIG_PASSPHRASE: "test-only-passphrase" };
let root: string;
beforeEach(() => (root = tempProject()));
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe("the backend", () => {
  test("by default the local file backend of Pulumi.yaml, in ~/.pulumi", () => {
    const backend = backendOf(root, {});
    expect(backend).toEqual({ url: "file://~", from: "Pulumi.yaml" });
    expect(describeBackend(backend)).toBe(
      `state: local file backend file://~ (${path.join(os.homedir(), ".pulumi")}), from ` +
        "Pulumi.yaml; PULUMI_BACKEND_URL overrides it",
    );
  });

  test("PULUMI_BACKEND_URL overrides Pulumi.yaml, and the line says so", () => {
    const backend = backendOf(root, { PULUMI_BACKEND_URL: "s3://state-bucket/kubeadm-aws" });
    expect(backend).toEqual({ url: "s3://state-bucket/kubeadm-aws", from: "PULUMI_BACKEND_URL" });
    expect(describeBackend(backend)).toBe(
      "state: s3://state-bucket/kubeadm-aws, from PULUMI_BACKEND_URL, overriding Pulumi.yaml",
    );
  });

  test("the repository's own Pulumi.yaml says file://~", () => {
    expect(backendOf(path.resolve(__dirname, "..", ".."), {}).url).toBe("file://~");
  });

  test.each([
    [{}, "state: local file backend file://~"],
    [
      { PULUMI_BACKEND_URL: "https://api.pulumi.com" },
      "state: https://api.pulumi.com, from PULUMI_BACKEND_URL",
    ],
  ])("a run prints the backend line (env %j)", async (env, line) => {
    const deps = fakeDeps(root, { env: { ...env, ...PASS } });
    await runDeploy({ command: "preview", stack: "dev", yes: false }, deps);
    expect(
      deps
        .out()
        .split("\n")
        .filter((l) => l.startsWith("state: ")),
    ).toEqual([expect.stringContaining(line)]);
  });
});

describe("the stack", () => {
  test("up creates or selects it with its name, the repository root and the project CLI", async () => {
    const automation = fakeAutomation();
    const installer = fakeInstaller();
    const deps = fakeDeps(root, { automation, installer, env: PASS });
    await runDeploy({ command: "up", stack: "prod", yes: false }, deps);

    expect(automation.opened).toHaveLength(1);
    const [opened] = automation.opened;
    expect(opened!.how).toBe("createOrSelectStack");
    expect(opened!.args).toEqual({ stackName: "prod", workDir: root });
    expect(opened!.opts.workDir).toBe(root);
    expect(opened!.opts.pulumiCommand?.command).toBe(
      path.join(root, ".pulumi-cli", "bin", "pulumi"),
    );
    expect(opened!.opts.envVars).toMatchObject(PASS);
    expect(automation.stackCalls.map((c) => c.method)).toEqual(["up"]);
    expect(deps.out()).toContain("stack prod: new, created now from its stack file");
  });

  test("an existing stack is said to exist", async () => {
    const deps = fakeDeps(root, { automation: fakeAutomation({ existing: ["dev"] }), env: PASS });
    await runDeploy({ command: "up", stack: "dev", yes: false }, deps);
    expect(deps.out()).toContain("stack dev: exists");
  });

  test("a new stack without a stack file is refused (a typo), naming the stacks", async () => {
    const automation = fakeAutomation();
    const deps = fakeDeps(root, { automation, env: PASS });
    await expect(runDeploy({ command: "up", stack: "prdo", yes: false }, deps)).rejects.toThrow(
      /stack prdo has no stack file Pulumi.prdo.yaml: stacks here are dev, prod/,
    );
    expect(automation.opened).toEqual([]);
  });

  test("destroy and outputs select an existing stack and never create one", async () => {
    const automation = fakeAutomation({ existing: ["dev"] });
    const deps = fakeDeps(root, { automation, env: PASS });
    await runDeploy({ command: "destroy", stack: "dev", yes: true }, deps);
    expect(automation.opened.map((o) => [o.how, o.args])).toEqual([
      ["selectStack", { stackName: "dev", workDir: root }],
    ]);

    const none = fakeAutomation({ existing: [] });
    await expect(
      runDeploy(
        { command: "outputs", stack: "dev", yes: false },
        fakeDeps(root, { automation: none, env: PASS }),
      ),
    ).rejects.toThrow(/stack dev does not exist in this backend/);
    expect(none.opened).toEqual([]);
  });

  test("a qualified name matches the backend's short name and its stack file", async () => {
    const automation = fakeAutomation({ existing: ["dev"] });
    expect(await stackExists(automation, { workDir: root }, "acme/kubeadm-aws/dev")).toBe(true);
    expect(await stackExists(automation, { workDir: root }, "prod")).toBe(false);
  });

  test("the stacks with a stack file, for the messages", () => {
    expect(stackFiles(root)).toEqual(["dev", "prod"]);
  });
});
