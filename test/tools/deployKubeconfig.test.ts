/**
 * `npm run outputs`: the kubeconfig goes to a file of mode 0600 exactly, never over a file this
 * tool did not write; the other outputs are printed; no secret value reaches stdout or stderr.
 */
import * as fs from "fs";
import * as path from "path";
import type { OutputMap } from "@pulumi/pulumi/automation";
import { runDeploy } from "../../tools/deployRun";
import { KUBECONFIG_MARKER, kubeconfigText, writeKubeconfig } from "../../tools/kubeconfigFile";
import { fakeAutomation, fakeDeps, tempProject } from "./deployFakes";

const KUBECONFIG = [
  "apiVersion: v1",
  "kind: Config",
  "users:",
  "- name: kubernetes-admin",
  "  user:",
  "    client-key-data: S0VZLXRoYXQtbXVzdC1uZXZlci1iZS1wcmludGVk",
].join("\n");
const SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nnever-printed\n";

const OUTPUTS: OutputMap = {
  clusterName: { value: "k8s-dev", secret: false },
  apiEndpoint: { value: "https://k8s-dev-api.elb.us-east-1.amazonaws.com:6443", secret: false },
  nodes: { value: [{ name: "k8s-dev-cp-0", role: "control-plane" }], secret: false },
  kubeconfig: { value: KUBECONFIG, secret: true },
  sshPrivateKey: { value: SSH_KEY, secret: true },
};

const mode = (file: string): number => fs.statSync(file).mode & 0o777;

let root: string;
beforeEach(() => (root = tempProject(["dev"])));
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe("the file", () => {
  test("is created with mode 0600 exactly, even under a permissive umask", () => {
    const file = path.join(root, "kubeconfig");
    const umask = process.umask(0);
    try {
      writeKubeconfig(file, "dev", KUBECONFIG);
    } finally {
      process.umask(umask);
    }
    expect(mode(file)).toBe(0o600);
  });

  test("holds the kubeconfig under one marker line, and nothing is left beside it", () => {
    const file = path.join(root, "kubeconfig");
    writeKubeconfig(file, "dev", KUBECONFIG);
    const text = fs.readFileSync(file, "utf8");
    expect(text).toBe(
      `${KUBECONFIG_MARKER} for stack dev; rewritten on each run.\n${KUBECONFIG}\n`,
    );
    expect(text).toBe(kubeconfigText("dev", KUBECONFIG));
    expect(fs.readdirSync(root).filter((f) => f.includes("kubeconfig"))).toEqual(["kubeconfig"]);
  });

  test("a file it wrote is rewritten, and a mode widened since is narrowed back to 0600", () => {
    const file = path.join(root, "kubeconfig");
    writeKubeconfig(file, "dev", "old: 1");
    fs.chmodSync(file, 0o644);
    writeKubeconfig(file, "dev", KUBECONFIG);
    expect(mode(file)).toBe(0o600);
    expect(fs.readFileSync(file, "utf8")).toContain("client-key-data");
  });

  test("a file it did not write is left alone", () => {
    const file = path.join(root, "config");
    fs.writeFileSync(file, "apiVersion: v1\nkind: Config\n# someone else's\n", { mode: 0o640 });
    expect(() => writeKubeconfig(file, "dev", KUBECONFIG)).toThrow(
      /was not written by this tool: not overwriting it. Choose another file with --kubeconfig/,
    );
    expect(fs.readFileSync(file, "utf8")).toContain("someone else's");
    expect(mode(file)).toBe(0o640);
  });

  test("a symbolic link, even to a file it wrote, is left alone", () => {
    const target = path.join(root, "real");
    writeKubeconfig(target, "dev", "old: 1");
    const link = path.join(root, "kubeconfig");
    fs.symlinkSync(target, link);
    expect(() => writeKubeconfig(link, "dev", KUBECONFIG)).toThrow(/is a symbolic link/);
    expect(fs.readFileSync(target, "utf8")).toContain("old: 1");
  });
});

describe("npm run outputs", () => {
  async function outputs(outputs: OutputMap, kubeconfig = "kubeconfig") {
    const automation = fakeAutomation({ existing: ["dev"], outputs });
    const deps = fakeDeps(root, { automation, env: { PULUMI_CONFIG_PASSPHRASE: "p" } });
    await runDeploy({ command: "outputs", stack: "dev", yes: false, kubeconfig }, deps);
    return deps;
  }

  test("writes the kubeconfig, prints the other outputs and the export line", async () => {
    const deps = await outputs(OUTPUTS);
    const file = path.join(root, "kubeconfig");
    expect(fs.readFileSync(file, "utf8")).toBe(kubeconfigText("dev", KUBECONFIG));
    expect(mode(file)).toBe(0o600);
    const out = deps.out();
    expect(out).toContain("  clusterName: k8s-dev\n");
    expect(out).toContain("  apiEndpoint: https://k8s-dev-api.elb.us-east-1.amazonaws.com:6443\n");
    expect(out).toContain('"name": "k8s-dev-cp-0"');
    expect(out).toContain("  sshPrivateKey: [secret]\n");
    expect(out).toContain(`export KUBECONFIG=${file}\n`);
  });

  test("never prints a secret value", async () => {
    const deps = await outputs(OUTPUTS);
    for (const text of [deps.out(), deps.err()]) {
      expect(text).not.toContain("client-key-data");
      expect(text).not.toContain("kind: Config");
      expect(text).not.toContain("never-printed");
    }
  });

  test("--kubeconfig names the file, relative to the current directory", async () => {
    fs.mkdirSync(path.join(root, "out"));
    const deps = await outputs(OUTPUTS, "out/dev.kubeconfig");
    const file = path.join(root, "out", "dev.kubeconfig");
    expect(mode(file)).toBe(0o600);
    expect(deps.out()).toContain(`export KUBECONFIG=${file}\n`);
  });

  test("a path with spaces is quoted in the export line", async () => {
    fs.mkdirSync(path.join(root, "my dir"));
    const deps = await outputs(OUTPUTS, "my dir/kc");
    expect(deps.out()).toContain(`export KUBECONFIG='${path.join(root, "my dir", "kc")}'\n`);
  });

  test("a stack not deployed yet says so instead of writing an empty file", async () => {
    await expect(outputs({})).rejects.toThrow(/has no outputs: it is not deployed yet/);
    await expect(outputs({ clusterName: OUTPUTS.clusterName! })).rejects.toThrow(
      /has no kubeconfig output yet \(npm run up -- --stack dev\)/,
    );
    expect(fs.existsSync(path.join(root, "kubeconfig"))).toBe(false);
  });
});
