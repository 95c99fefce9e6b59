/**
 * The drift report's kubeadm config files: the real init and join steps run in a sandboxed node
 * (guest doubles), then the real drift probe reads the same sandbox. The sha256 the probe reports
 * for init.yaml and join.yaml (the join's discovery path put back to its placeholder) must be the
 * one the drift tool plans from the same rendered step, and an edited file must differ. The plan
 * is read from an exported checkpoint whose `connection` is wrapped as a shown secret.
 */
import { remoteInvocation, renderScript } from "../../render/script";
import { renderInit, renderJoin } from "../../render/steps";
import { plannedFiles, plannedKubeadmFiles, revealed } from "../../tools/drift";
import { initBundle, initInputs, joinBundle, joinInputs } from "../guest/params";
import { Sandbox } from "../guest/sandbox";

const probe = renderScript("drift-probe", { MODE: "node", RUNTIME: "containerd" });

/** The probe's `file PATH SHA` lines, by path. */
async function probedFiles(sb: Sandbox): Promise<Map<string, string>> {
  const r = await sb.run(probe);
  expect(r.code).toBe(0);
  return new Map(
    r.stdout
      .split("\n")
      .filter((l) => l.startsWith("file "))
      .map((l) => [l.split(" ")[1]!, l.split(" ")[2]!]),
  );
}

const sandboxes: Sandbox[] = [];
afterAll(() => sandboxes.forEach((sb) => sb.remove()));

function node(): Sandbox {
  const sb = new Sandbox();
  sandboxes.push(sb);
  sb.write("/etc/hosts", "127.0.0.1 localhost\n");
  return sb;
}

test("the join.yaml the real join writes hashes to the plan's, discovery path and all", async () => {
  const script = renderJoin(joinInputs("worker"));
  const sb = node();
  expect((await sb.run(script, { stdin: joinBundle("worker") })).code).toBe(0);
  const planned = plannedKubeadmFiles(remoteInvocation("join", script, "k8s-dev-worker-0"));
  expect(planned.map((p) => p.path)).toEqual(["/etc/kubernetes/kubeadm/join.yaml"]);
  const onDisk = await probedFiles(sb);
  expect(onDisk.get("/etc/kubernetes/kubeadm/join.yaml")).toBe(planned[0]!.sha256);

  // An edit on the node is seen.
  const file = "/etc/kubernetes/kubeadm/join.yaml";
  sb.write(file, `${sb.read(file)}# edited\n`);
  expect((await probedFiles(sb)).get(file)).not.toBe(planned[0]!.sha256);
}, 60_000);

test("the init.yaml the real init writes hashes to the plan's", async () => {
  const script = renderInit(initInputs);
  const sb = node();
  expect((await sb.run(script, { stdin: initBundle() })).code).toBe(0);
  const planned = plannedKubeadmFiles(remoteInvocation("init", script, "k8s-dev-cp-0"));
  expect(planned.map((p) => p.path)).toEqual(["/etc/kubernetes/kubeadm/init.yaml"]);
  expect((await probedFiles(sb)).get("/etc/kubernetes/kubeadm/init.yaml")).toBe(planned[0]!.sha256);
}, 60_000);

test("the plan comes from an exported checkpoint whose connection is a shown secret", () => {
  const create = remoteInvocation("join", renderJoin(joinInputs("worker")), "k8s-dev-worker-0");
  // pulumi stack export --show-secrets: {<sig key>: <secret sig>, plaintext: <JSON>}.
  const shown = (value: unknown) => ({
    "4dabf18193072939515e22b536f2e3a5": "1b47061264138c4ac30d75cd0eb44297",
    plaintext: JSON.stringify(value),
  });
  const hidden = {
    "4dabf18193072939515e22b536f2e3a5": "1b47061264138c4ac30d75cd0eb44297",
    ciphertext: "v1:abc",
  };
  const plan = plannedFiles([
    {
      type: "command:remote:Command",
      inputs: { connection: shown({ host: "10.0.1.5", user: "ubuntu" }), create },
    },
    { type: "command:remote:Command", inputs: { connection: hidden, create } },
  ]);
  expect([...plan.keys()]).toEqual(["10.0.1.5"]);
  expect([...plan.get("10.0.1.5")!.keys()]).toEqual([
    "/var/lib/kubeadm-aws/steps/join-k8s-dev-worker-0.sh",
    "/etc/kubernetes/kubeadm/join.yaml",
  ]);
  expect(revealed(hidden)).toBeUndefined();
  expect(revealed("plain")).toBe("plain");
});
