/**
 * The project-local Pulumi CLI: pinned to the SDK in node_modules, installed into .pulumi-cli
 * when missing, reused when there. The installer is a fake: nothing is downloaded.
 */
import * as fs from "fs";
import * as path from "path";
import { CLI_DIR, cliBinary, projectCli, SDK_VERSION } from "../../tools/pulumiCli";
import { DeployError } from "../../tools/engineError";
import { fakeInstaller, placeCliBinary, tempProject } from "./deployFakes";

const repo = path.resolve(__dirname, "..", "..");
let root: string;
let lines: string[];
const say = (line: string) => lines.push(line);

beforeEach(() => {
  root = tempProject();
  lines = [];
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

test("the pinned version is the installed @pulumi/pulumi's, the one package-lock.json locks", () => {
  const sdk = require("@pulumi/pulumi/package.json").version;
  const lock = JSON.parse(fs.readFileSync(path.join(repo, "package-lock.json"), "utf8"));
  expect(SDK_VERSION).toBe(sdk);
  expect(SDK_VERSION).toBe(lock.packages["node_modules/@pulumi/pulumi"].version);
});

test("the folder is .pulumi-cli at the root, and git ignores it", () => {
  expect(CLI_DIR).toBe(".pulumi-cli");
  const ignored = fs.readFileSync(path.join(repo, ".gitignore"), "utf8").split("\n");
  expect(ignored).toContain(".pulumi-cli/");
});

test("without a CLI in the folder it installs the SDK's version there, once", async () => {
  const installer = fakeInstaller();
  const cli = await projectCli(root, installer, say);
  expect(installer.calls).toHaveLength(1);
  const [call] = installer.calls;
  expect(call!.method).toBe("install");
  expect(call!.opts.root).toBe(path.join(root, ".pulumi-cli"));
  expect(String(call!.opts.version)).toBe(SDK_VERSION);
  expect(cli.command).toBe(path.join(root, ".pulumi-cli", "bin", "pulumi"));
  expect(lines[0]).toContain(`installing the Pulumi CLI ${SDK_VERSION}`);
});

test("with a CLI in the folder it reuses it through PulumiCommand.get, with the same pin", async () => {
  placeCliBinary(root);
  const installer = fakeInstaller();
  await projectCli(root, installer, say);
  expect(installer.calls.map((c) => c.method)).toEqual(["get"]);
  expect(installer.calls[0]!.opts.root).toBe(path.join(root, ".pulumi-cli"));
  expect(String(installer.calls[0]!.opts.version)).toBe(SDK_VERSION);
  expect(lines.some((l) => l.includes("installing"))).toBe(false);
});

test("one line says which CLI runs and where", async () => {
  placeCliBinary(root);
  await projectCli(root, fakeInstaller(), say);
  expect(lines).toEqual([
    `Pulumi CLI ${SDK_VERSION} (project-local): ${path.join(root, ".pulumi-cli", "bin", "pulumi")}`,
  ]);
});

test("a CLI there that PulumiCommand.get rejects (older than the SDK) is replaced", async () => {
  placeCliBinary(root);
  const installer = fakeInstaller({ getFails: "Minimum version requirement failed" });
  await projectCli(root, installer, say);
  expect(installer.calls.map((c) => c.method)).toEqual(["get", "install"]);
  expect(lines[0]).toContain("Minimum version requirement failed");
});

test("another SDK version pins another CLI", async () => {
  const installer = fakeInstaller();
  await projectCli(root, installer, say, "3.250.1");
  expect(String(installer.calls[0]!.opts.version)).toBe("3.250.1");
});

test("a failed install says what failed and how to do without it", async () => {
  const installer = fakeInstaller({ installFails: "Failed to download install.sh" });
  const failure = projectCli(root, installer, say);
  await expect(failure).rejects.toBeInstanceOf(DeployError);
  await expect(failure).rejects.toThrow(/could not install the Pulumi CLI .*Failed to download/s);
  await expect(failure).rejects.toThrow(/install the CLI yourself and run pulumi up/);
});

test("the binary it looks for is where PulumiCommand.get runs it: <root>/bin/pulumi", () => {
  if (process.platform !== "win32") expect(cliBinary("/x")).toBe("/x/bin/pulumi");
});
