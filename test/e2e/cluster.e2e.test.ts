/**
 * End-to-end test on a real AWS account, through the Pulumi Automation API and kubectl:
 *
 *   1. `up` a uniquely named stack of this project: 1 control-plane node + 2 workers;
 *   2. through the exported kubeconfig: every node Ready, CoreDNS answers a lookup, a pod on one
 *      worker reaches a pod on the other;
 *   3. scale the workers up by one (4 Ready nodes), then down by one (3 nodes, the removed one
 *      gone from the API);
 *      the API's fixed private name in the outputs and the kubeconfig, the bastion answering SSH
 *      and no node's public address doing so;
 *   4. no node is special: the admin kubeconfig is the program's own (a client certificate in
 *      kubeadm:cluster-admins, valid for a year); `up --replace` of cp-0's instance (the only
 *      control plane) converges in one run: the new instance joins, the old Node goes, init does
 *      not run again, and the cluster answers through the same kubeconfig;
 *   5. a create-only change (`cni`) is refused by `preview` before anything is touched, naming
 *      the key and both values; the kubeconfig output survives every update;
 *   6. the AWS integration: a Service of type LoadBalancer gets an ELB hostname and answers HTTP,
 *      a claim on the default StorageClass (EBS CSI, gp3) binds and a pod writes to it; both are
 *      left for the destroy to release;
 *      then the failure drill's restore: a snapshot now, a namespace deleted, etcd restored on
 *      every control plane from that snapshot, the namespace back;
 *   7. a rolling upgrade by one minor (the cluster is built at FROM_VERSION and moved to the
 *      project's default): every node's kubelet runs the target afterwards, the upgrade steps ran
 *      (`kubeadm upgrade apply` once), and the Deployment behind a PodDisruptionBudget kept
 *      answering through its load balancer while the `up` ran;
 *      then a worker instance-type change (t3.small -> t3.medium) rolls in place one worker at a
 *      time, with the same Deployment still answering;
 *   8. `destroy` and remove the stack, whatever happened before (a `finally`); a destroy runs no
 *      node's removal step, but does run the release of what Kubernetes created in AWS, and
 *      afterwards no ELB, target group, network interface, volume or security group tagged for
 *      the cluster is left in the region (checked with the AWS SDK).
 *
 * Opt-in, since it creates billed resources (about 50-70 minutes of 3-4 small instances, an NLB,
 * a Classic ELB and a 1 GiB gp3 volume): `KUBEADM_AWS_E2E=1 npm run e2e` with AWS credentials and `kubectl` on PATH. The Pulumi
 * CLI is the deploy wrapper's project-local one (installed into .pulumi-cli on first use), so
 * the test deploys exactly as `npm run up` does. State goes to the project's backend (file://~ unless
 * PULUMI_BACKEND_URL says otherwise). Without any of these the suite reports one skipped test
 * whose name says what is missing.
 */
import * as crypto from "crypto";
import { X509Certificate } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import {
  ConfigMap,
  LocalWorkspace,
  OutputMap,
  PulumiCommand,
  Stack,
} from "@pulumi/pulumi/automation";
import { parse } from "yaml";
import { projectCli } from "../../tools/pulumiCli";
import { checkLoadBalancerAndVolume } from "./cloudChecks";
import { Kubectl, NodeState, onPath, waitForReadyNodes, waitUntil } from "./kube";
import { drillNamespaceRestore } from "./etcdDrill";
import { expectNoDrift } from "./driftCheck";
import { clusterLeftovers } from "./leftovers";
import { kubeletVersions, probeWhile } from "./upgradeChecks";
import { DEFAULTS, OPERATING_SYSTEMS, type OperatingSystem } from "../../config/defaults";
import { awsCredentialsSource } from "./prerequisites";

const REPO_ROOT = path.resolve(__dirname, "..", "..");
const MINUTE = 60_000;
/** Must match jest.e2e.config.js; the work below gets less so that `destroy` always has time. */
const TEST_TIMEOUT_MS = 120 * MINUTE;
const WORK_BUDGET_MS = 95 * MINUTE;
/**
 * The cluster is built one minor below the default and upgraded to it. The patch must exist in
 * pkgs.k8s.io's repository for that minor (the upgrade's own check refuses it otherwise).
 */
const TO_VERSION = DEFAULTS.kubernetesVersion;
const FROM_VERSION = process.env.KUBEADM_AWS_E2E_FROM_VERSION ?? "1.33.0";
const IMAGE = "registry.k8s.io/e2e-test-images/agnhost:2.53";
/** Namespace of the check pods. */
const NS = "e2e-checks";
/**
 * The nodes' OS (KUBEADM_AWS_E2E_OS, default the stack default), and what each Node's
 * status.nodeInfo.osImage (the image's /etc/os-release PRETTY_NAME) starts with for it.
 */
const OS = (process.env.KUBEADM_AWS_E2E_OS ?? DEFAULTS.os) as OperatingSystem;
const OS_IMAGE: Record<OperatingSystem, string> = {
  "ubuntu-24.04": "Ubuntu 24.04",
  "ubuntu-22.04": "Ubuntu 22.04",
  "debian-12": "Debian GNU/Linux 12",
  "rocky-9": "Rocky Linux 9",
  "almalinux-9": "AlmaLinux 9",
  "amazon-linux-2023": "Amazon Linux 2023",
  "oracle-linux-9": "Oracle Linux Server 9",
};
const CONTROL_PLANE = { count: 1, instanceType: "t3.medium", rootVolumeSizeGiB: 30 };
const WORKERS = { count: 2, instanceType: "t3.small", rootVolumeSizeGiB: 30 };

/** What keeps the test from running here, as the skipped test's name; undefined when it can run. */
function skipReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const missing: string[] = [];
  if (env.KUBEADM_AWS_E2E !== "1") missing.push("set KUBEADM_AWS_E2E=1");
  if (awsCredentialsSource(env) === undefined) {
    missing.push(
      "provide AWS credentials (`aws configure`, AWS_PROFILE, AWS_ACCESS_KEY_ID or web identity)",
    );
  }
  if (!onPath("kubectl")) missing.push("put kubectl on PATH");
  if (!(OPERATING_SYSTEMS as readonly string[]).includes(OS)) {
    missing.push(`set KUBEADM_AWS_E2E_OS to one of ${OPERATING_SYSTEMS.join(", ")} (not ${OS})`);
  }
  if (missing.length === 0) return undefined;
  const last = missing.pop()!;
  const todo = missing.length > 0 ? `${missing.join(", ")} and ${last}` : last;
  return `skipped: ${todo} to run the end-to-end test (it creates a real cluster in AWS)`;
}

/** e2e-<yymmddhhmm>-<random>: unique, sortable, and short enough to be the cluster name too. */
function uniqueStackName(): string {
  const stamp = new Date().toISOString().replace(/\D/g, "").slice(2, 12);
  return `e2e-${stamp}-${crypto.randomBytes(2).toString("hex")}`;
}

/**
 * The node groups are set as JSON text rather than with `--path` syntax: config.ts parses the raw
 * value either way, and JSON leaves no question whether a count is stored as a number or a string.
 */
function stackConfig(
  clusterName: string,
  region: string,
  workerCount: number,
  kubernetesVersion: string,
  workerType: string,
): ConfigMap {
  return {
    "aws:region": { value: region },
    "kubeadm-aws:clusterName": { value: clusterName },
    "kubeadm-aws:kubernetesVersion": { value: kubernetesVersion },
    "kubeadm-aws:os": { value: OS },
    "kubeadm-aws:controlPlane": { value: JSON.stringify(CONTROL_PLANE) },
    "kubeadm-aws:workers": {
      value: JSON.stringify({ ...WORKERS, count: workerCount, instanceType: workerType }),
    },
  };
}

const log = (stackName: string, message: string): void => {
  process.stdout.write(`\n[e2e ${stackName}] ${message}\n`);
};

interface NodeOutput {
  name: string;
  role: string;
  nodeName: string;
}

const nodeNamesOf = (outputs: OutputMap): string[] =>
  (outputs.nodes!.value as NodeOutput[]).map((n) => n.nodeName).sort();

const namesOf = (nodes: readonly NodeState[]): string[] => nodes.map((n) => n.name).sort();

/** The admin kubeconfig's client certificate, parsed. */
function adminCertificate(kubeconfig: string): X509Certificate {
  const user = parse(kubeconfig).users[0].user;
  return new X509Certificate(Buffer.from(user["client-certificate-data"], "base64"));
}

/** The URN of the stack's resource of TYPE whose name ends with SUFFIX. */
async function urnOf(stack: Stack, type: string, suffix: string): Promise<string> {
  const state = await stack.exportStack();
  const found = (state.deployment.resources as { urn: string; type: string }[]).filter(
    (r) => r.type === type && r.urn.endsWith(suffix),
  );
  expect(found.map((r) => r.urn)).toHaveLength(1);
  return found[0]!.urn;
}

/** Whether a TCP connection to host:port succeeds within 5 s (a dropped SYN times out). */
function tcpAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 5000 });
    const done = (ok: boolean) => (socket.destroy(), resolve(ok));
    socket.once("connect", () => done(true));
    socket.once("timeout", () => done(false));
    socket.once("error", () => done(false));
  });
}

/** A pod pinned to one node by `nodeName` (no scheduler involved). */
function pinnedPod(name: string, nodeName: string, args: string[]): object {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: NS, labels: { app: name } },
    spec: {
      nodeName,
      restartPolicy: "Never",
      terminationGracePeriodSeconds: 1,
      containers: [{ name: "agnhost", image: IMAGE, args }],
    },
  };
}

/** CoreDNS answers from a worker, and a pod on one worker reaches a pod on another. */
async function checkDnsAndPodNetwork(kubectl: Kubectl, stackName: string): Promise<void> {
  const workers = namesOf(await kubectl.nodes("!node-role.kubernetes.io/control-plane"));
  expect(workers.length).toBeGreaterThanOrEqual(2);
  const [serverNode, clientNode] = workers as [string, string];
  log(stackName, `pod network check: server on ${serverNode}, client on ${clientNode}`);

  await kubectl.apply([{ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } }]);
  await kubectl.apply([
    pinnedPod("e2e-server", serverNode, ["netexec", "--http-port=8080"]),
    pinnedPod("e2e-client", clientNode, ["pause"]),
  ]);
  const pods = ["pod/e2e-server", "pod/e2e-client"];
  await kubectl.run(["wait", "-n", NS, "--for=condition=Ready", ...pods, "--timeout=300s"], {
    timeoutMs: 330_000,
    longRunning: true,
  });

  const apiServiceIp = await kubectl.field(
    ["service", "kubernetes", "-n", "default"],
    "{.spec.clusterIP}",
  );
  const lookup = await waitUntil(
    "CoreDNS to resolve kubernetes.default from a worker's pod",
    async () => {
      const out = await kubectl.exec(NS, "e2e-client", [
        "nslookup",
        "kubernetes.default.svc.cluster.local",
      ]);
      return out.includes(apiServiceIp) && out;
    },
    { timeoutMs: 3 * MINUTE },
  );
  log(stackName, `DNS answer:\n${lookup}`);

  const serverIp = await kubectl.field(["pod", "e2e-server", "-n", NS], "{.status.podIP}");
  const url = `http://${serverIp}:8080/hostname`;
  const hostname = await waitUntil(
    `the server pod ${serverIp} on ${serverNode} to answer the client on ${clientNode}`,
    async () =>
      (await kubectl.exec(NS, "e2e-client", ["curl", "-sS", "--max-time", "5", url])).trim(),
    { timeoutMs: 3 * MINUTE },
  );
  expect(hostname).toBe("e2e-server");

  await kubectl.run(["delete", "namespace", NS, "--wait=true", "--timeout=180s"], {
    timeoutMs: 200_000,
    longRunning: true,
  });
}

/**
 * Destroys the stack's resources, then the stack; returns the error instead of throwing. Every
 * node's removal step is skipped with the cluster (`deletedWith`), so the remove-node step's log
 * lines must not appear in its output; the release of the cluster's cloud resources runs first
 * (its log must appear), and afterwards nothing tagged for the cluster may be left in the region.
 */
async function destroyStack(
  stack: Stack,
  onOutput: (out: string) => void,
  passphraseNote: string,
  cloud: { clusterName: string; region: string },
): Promise<Error | undefined> {
  let lastError: unknown;
  // A second attempt covers AWS's eventual consistency (an ENI still detaching, say).
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      log(stack.name, `destroy (attempt ${attempt})`);
      let printed = "";
      await stack.destroy({ onOutput: (out) => ((printed += out), onOutput(out)) });
      await stack.workspace.removeStack(stack.name);
      if (printed.includes("[remove-node]")) {
        return new Error("the destroy ran a node's removal step over SSH; it should skip them all");
      }
      if (!printed.includes("[release-cloud-resources]")) {
        return new Error("the destroy did not run the release of the cluster's cloud resources");
      }
      // AWS lists a deleted volume or interface for a little while; give it a few minutes.
      try {
        await waitUntil(
          "nothing tagged for the cluster to be left in AWS",
          async () => {
            const left = await clusterLeftovers(cloud.clusterName, cloud.region);
            if (left.length === 0) return true;
            throw new Error(left.join(", "));
          },
          { timeoutMs: 5 * MINUTE, intervalMs: 15_000 },
        );
      } catch (err) {
        return new Error(`the destroy left cloud resources behind: ${(err as Error).message}`);
      }
      return undefined;
    } catch (err) {
      lastError = err;
    }
  }
  const message =
    `could not destroy stack ${stack.name}: its AWS resources may still exist and cost money. ` +
    `Clean up with: cd ${REPO_ROOT} && pulumi destroy --stack ${stack.name} && pulumi stack rm ${stack.name}` +
    `${passphraseNote}\n${String(lastError)}`;
  console.error(message);
  return new Error(message);
}

const reason = skipReason();

describe("kubeadm-aws on real AWS (end-to-end)", () => {
  if (reason !== undefined) {
    console.warn(reason);
    test.skip(reason, () => undefined);
    return;
  }

  test(
    "deploys a cluster with Ready nodes, working DNS and pod network, LoadBalancer Services and volumes, scales workers up and down, and destroys it leaving nothing tagged",
    async () => {
      const stackName = uniqueStackName();
      const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1";
      const onOutput = (out: string) => process.stdout.write(out);
      // The stack lives only for this test; without a passphrase of the caller's, use a random one.
      const ownPassphrase =
        process.env.PULUMI_CONFIG_PASSPHRASE === undefined &&
        process.env.PULUMI_CONFIG_PASSPHRASE_FILE === undefined;
      const passphrase = crypto.randomBytes(24).toString("base64url");
      const envVars: Record<string, string> = ownPassphrase
        ? { PULUMI_CONFIG_PASSPHRASE: passphrase }
        : {};
      const passphraseNote = ownPassphrase ? ` (with PULUMI_CONFIG_PASSPHRASE=${passphrase})` : "";

      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kubeadm-aws-e2e-"));
      const kubeconfigPath = path.join(tmp, "kubeconfig");
      const kubectl = new Kubectl(kubeconfigPath);
      const budget = new AbortController();
      const budgetTimer = setTimeout(() => {
        log(stackName, `work budget of ${WORK_BUDGET_MS / MINUTE} min spent: interrupting`);
        budget.abort();
      }, WORK_BUDGET_MS);

      let printed = "";
      let version = FROM_VERSION;
      let workerType = WORKERS.instanceType;
      const up = async (
        stack: Stack,
        workerCount: number,
        replace: string[] = [],
      ): Promise<OutputMap> => {
        await stack.setAllConfig(stackConfig(stackName, region, workerCount, version, workerType));
        log(
          stackName,
          `up with ${CONTROL_PLANE.count} control plane + ${workerCount} workers` +
            (replace.length ? `, replacing ${replace.join(", ")}` : ""),
        );
        printed = "";
        const result = await stack.up({
          onOutput: (out) => ((printed += out), onOutput(out)),
          signal: budget.signal,
          replace,
        });
        expect(result.summary.result).toBe("succeeded");
        // An update never empties the kubeconfig (the program computes it).
        expect(String(result.outputs.kubeconfig?.value ?? "")).toContain("kind: Config");
        return result.outputs;
      };

      let stack: Stack | undefined;
      let cleanupError: Error | undefined;
      try {
        log(stackName, `creating stack in ${region} (project at ${REPO_ROOT})`);
        const pulumiCommand = await projectCli(REPO_ROOT, PulumiCommand, (line) =>
          log(stackName, line),
        );
        stack = await LocalWorkspace.createOrSelectStack(
          { stackName, workDir: REPO_ROOT },
          { envVars, pulumiCommand },
        );
        // A list, set through its path (stored as a YAML list); the rest is set in up().
        await stack.setConfig("kubeadm-aws:sshIngressCidrs[0]", { value: "my-ip" }, true);

        // 1. Create: 1 control plane + 2 workers.
        let outputs = await up(stack, WORKERS.count);
        expect(outputs.kubeconfig?.secret).toBe(true);
        expect(outputs.sshPrivateKey?.secret).toBe(true);
        expect(outputs.apiEndpoint?.value).toMatch(/^https:\/\/.+:6443$/);
        fs.writeFileSync(kubeconfigPath, outputs.kubeconfig!.value as string, { mode: 0o600 });

        // 2. Every node Ready, and the API knows exactly the nodes the stack exports.
        const expected = CONTROL_PLANE.count + WORKERS.count;
        let nodes = await waitForReadyNodes(kubectl, expected);
        expect(namesOf(nodes)).toEqual(nodeNamesOf(outputs));
        expect(nodes.filter((n) => n.controlPlane)).toHaveLength(CONTROL_PLANE.count);
        // Every node runs the OS the stack asked for (its image's PRETTY_NAME).
        const osImages = await kubectl.run([
          "get",
          "nodes",
          "-o",
          'jsonpath={range .items[*]}{.status.nodeInfo.osImage}{"\\n"}{end}',
        ]);
        for (const image of osImages.trim().split("\n")) expect(image).toContain(OS_IMAGE[OS]);

        // 3. DNS and the pod network across workers.
        await checkDnsAndPodNetwork(kubectl, stackName);

        // The AWS integration: an ELB for a LoadBalancer Service, an EBS volume for a claim.
        // Both stay for the destroy to release.
        const { loadBalancerHostname } = await checkLoadBalancerAndVolume(kubectl, (m) =>
          log(stackName, m),
        );

        // Backups: a snapshot now, a namespace deleted, etcd restored, the namespace back.
        await drillNamespaceRestore(stackName, outputs, kubectl, (m) => log(stackName, m));
        nodes = await waitForReadyNodes(kubectl, expected);

        // Plan review and drift: every machine is what the stack's state planned.
        await expectNoDrift(stack, (m) => log(stackName, m));

        // The private plumbing: the API's fixed name, the kubeconfig verifying it through the
        // public NLB, and no SSH on any node's public address (only the bastion answers).
        expect(outputs.privateApiEndpoint?.value).toBe(
          `https://api.${stackName}.k8s.internal:6443`,
        );
        expect(outputs.kubeconfig!.value).toContain(
          `tls-server-name: api.${stackName}.k8s.internal`,
        );
        expect(await tcpAnswers(outputs.bastionIp!.value as string, 22)).toBe(true);
        for (const node of outputs.nodes!.value as { publicIp: string }[]) {
          if (node.publicIp) expect(await tcpAnswers(node.publicIp, 22)).toBe(false);
        }

        // No node is special: the kubeconfig is the program's own, in kubeadm:cluster-admins.
        const admin = adminCertificate(outputs.kubeconfig!.value as string);
        expect(admin.subject).toContain("O=kubeadm:cluster-admins");
        expect(admin.subject).not.toContain("system:masters");
        const lifetimeDays = (Date.parse(admin.validTo) - Date.parse(admin.validFrom)) / 86_400_000;
        expect(Math.round(lifetimeDays)).toBe(365);
        expect(Date.parse(outputs.kubeconfigExpiry!.value as string)).toBeGreaterThan(Date.now());

        // Replace cp-0, the only control plane, in one `up`: the new instance joins the cluster
        // (init does not run again), then the old Node goes; the same kubeconfig keeps working.
        const oldCp0 = (outputs.nodes!.value as NodeOutput[]).find((n) =>
          n.name.endsWith("-cp-0"),
        )!;
        const cp0Urn = await urnOf(stack, "aws:ec2/instance:Instance", "-nodes-cp-0");
        outputs = await up(stack, WORKERS.count, [cp0Urn]);
        const newCp0 = (outputs.nodes!.value as NodeOutput[]).find((n) =>
          n.name.endsWith("-cp-0"),
        )!;
        expect(newCp0.nodeName).not.toBe(oldCp0.nodeName);
        expect(printed).not.toContain("running kubeadm init");
        expect(printed).toContain("[remove-node]");
        nodes = await waitForReadyNodes(kubectl, expected);
        expect(namesOf(nodes)).toEqual(nodeNamesOf(outputs));
        expect(namesOf(nodes)).not.toContain(oldCp0.nodeName);

        // 4. One worker more.
        outputs = await up(stack, WORKERS.count + 1);
        nodes = await waitForReadyNodes(kubectl, expected + 1);
        expect(namesOf(nodes)).toEqual(nodeNamesOf(outputs));
        const beforeScaleDown = nodeNamesOf(outputs);

        // 5. One worker less: it is drained and deleted from the API before its VM goes.
        outputs = await up(stack, WORKERS.count);
        const removed = beforeScaleDown.filter((n) => !nodeNamesOf(outputs).includes(n));
        expect(removed).toHaveLength(1);
        await waitUntil(
          `node ${removed[0]} to leave the cluster`,
          async () => !namesOf(await kubectl.nodes()).includes(removed[0]!),
          { timeoutMs: 5 * MINUTE },
        );
        nodes = await waitForReadyNodes(kubectl, expected);
        expect(namesOf(nodes)).toEqual(nodeNamesOf(outputs));

        // 6. A rolling upgrade by one minor, while the Deployment behind a PDB keeps serving.
        version = TO_VERSION;
        const serving = probeWhile(`http://${loadBalancerHostname}/hostname`);
        outputs = await up(stack, WORKERS.count);
        const report = await serving.stop();
        log(
          stackName,
          `upgrade ${FROM_VERSION} -> ${TO_VERSION}: ${report.probes} probes, ${report.failures} failed, longest outage ${report.longestOutageSeconds}s`,
        );
        expect(printed).toContain("[upgrade-preflight]");
        expect(printed.match(/\[upgrade-node\] kubeadm upgrade apply v/g) ?? []).toHaveLength(1);
        expect(outputs.kubernetesVersion?.value).toBe(TO_VERSION);
        const kubelets = await kubeletVersions(kubectl);
        expect(Object.keys(kubelets).sort()).toEqual(nodeNamesOf(outputs));
        expect(new Set(Object.values(kubelets))).toEqual(new Set([`v${TO_VERSION}`]));
        // Kept serving: a load balancer takes a few seconds to stop sending to a drained node,
        // so single failed probes are tolerated, an outage is not.
        expect(report.longestOutageSeconds).toBeLessThanOrEqual(20);
        expect(report.failures / report.probes).toBeLessThan(0.05);
        nodes = await waitForReadyNodes(kubectl, expected);
        expect(namesOf(nodes)).toEqual(nodeNamesOf(outputs));

        // A worker instance-type change rolls in place, one worker at a time, still serving.
        workerType = "t3.medium";
        const servingRoll = probeWhile(`http://${loadBalancerHostname}/hostname`);
        outputs = await up(stack, WORKERS.count);
        const rollReport = await servingRoll.stop();
        log(
          stackName,
          `workers to ${workerType}: ${rollReport.probes} probes, ${rollReport.failures} failed, longest outage ${rollReport.longestOutageSeconds}s`,
        );
        expect(printed).toContain("[node-rollout]");
        const types = await kubectl.run([
          "get",
          "nodes",
          "-l",
          "!node-role.kubernetes.io/control-plane",
          "-o",
          "jsonpath={.items[*].metadata.labels.node\\.kubernetes\\.io/instance-type}",
        ]);
        expect(new Set(types.trim().split(/\s+/))).toEqual(new Set([workerType]));
        expect(rollReport.longestOutageSeconds).toBeLessThanOrEqual(20);
        nodes = await waitForReadyNodes(kubectl, expected);
        expect(namesOf(nodes)).toEqual(nodeNamesOf(outputs));
        // Upgraded and rolled in place, yet no drift: the step files that still carry the old
        // version are reported as upgraded in place.
        await expectNoDrift(stack, (m) => log(stackName, m));

        // 7. A create-only change is refused before anything is touched, naming both values.
        await stack.setConfig("kubeadm-aws:cni", { value: "calico" });
        await expect(stack.preview({ onOutput })).rejects.toThrow(
          /cni is create-only: this cluster was built with flannel and the stack now says calico/,
        );
        await stack.removeConfig("kubeadm-aws:cni");
      } finally {
        clearTimeout(budgetTimer);
        fs.rmSync(tmp, { recursive: true, force: true });
        if (stack) {
          cleanupError = await destroyStack(stack, onOutput, passphraseNote, {
            clusterName: stackName,
            region,
          });
        }
      }
      // Reached only when every check passed: then a failed cleanup fails the test. After a
      // failed check, that failure is the one reported and the cleanup error is printed above.
      if (cleanupError) throw cleanupError;
    },
    TEST_TIMEOUT_MS,
  );
});
