/**
 * The other steps that install packages, on RHEL-family nodes (dnf), against recording doubles:
 * wait-ready waits for dnf-makecache and rpm's lock, bounded; bastion-tools installs kubectl at
 * the cluster's version past the repository's exclude line; upgrade-node moves kubeadm, then the
 * kubelet, to the target through the new minor's repository, its check asks that repository
 * without touching the node's, and a second run changes nothing.
 */
import * as steps from "../../render/steps";
import { callsOf, runTwice, type Sandbox, sandboxTest } from "./sandbox";

const ROCKY_9 = 'NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\n';

const dnfInstalls = (calls: string[]): string[] =>
  calls
    .filter((c) => c.startsWith("dnf ") && / install /.test(c))
    .map((c) => c.replace(/^dnf -y -q (--refresh )?install /, ""));

describe("wait-ready on a dnf node", () => {
  const script = steps.renderWaitReady({ timeoutSeconds: 5, packageManager: "dnf" });

  sandboxTest("waits for dnf-makecache to finish, then passes", async (sb) => {
    const r = await sb.run(script, {
      without: ["cloud-init"],
      env: { DOUBLE_ACTIVATING_UNITS: "dnf-makecache.service", DOUBLE_ACTIVATING_CHECKS: "2" },
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("dnf/rpm is busy: dnf-makecache.service is activating");
    expect(r.stderr).toContain("node is ready for prepare");
    expect(callsOf(sb, "systemctl")).toContain("systemctl is-active dnf-makecache.service");
  });

  sandboxTest("gives up on a held rpm lock with its holder's PID", async (sb) => {
    const holder = await sb.holdOpen("/var/lib/rpm/.rpm.lock", 30);
    const r = await sb.run(steps.renderWaitReady({ timeoutSeconds: 1, packageManager: "dnf" }), {
      without: ["cloud-init"],
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`.rpm.lock is held by PID ${holder.pid}`);
  });
});

describe("bastion-tools on a dnf bastion", () => {
  const script = steps.renderBastionTools({ kubernetesVersion: "1.34.2", packageManager: "dnf" });

  sandboxTest(
    "installs kubectl at the cluster's version; a second run changes nothing",
    async (sb) => {
      sb.write("/etc/os-release", ROCKY_9);
      sb.installPackage("ca-certificates", "1.0-1");
      sb.installPackage("curl-minimal", "1.0-1");
      const runs = await runTwice(sb, script, {
        env: { DOUBLE_RPM_PROVIDES: "curl=curl-minimal" },
      });
      expect(runs.first.code).toBe(0);
      expect(dnfInstalls(runs.firstCalls)).toEqual([
        "tar",
        "--disableexcludes=kubernetes kubectl-1.34.2-150500.1.1",
      ]);
      expect(sb.read("/etc/yum.repos.d/kubernetes.repo")).toContain(
        "exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni\n",
      );
      expect(runs.second.code).toBe(0);
      expect(dnfInstalls(runs.secondCalls)).toEqual([]);
      expect(runs.changed).toEqual([]);
    },
  );
});

/** A RHEL-family node that joined at 1.34.2: packages installed, the repository at v1.34. */
function joinedNode(sb: Sandbox): void {
  sb.write("/etc/os-release", ROCKY_9);
  for (const p of ["kubeadm", "kubelet", "kubectl"]) sb.installPackage(p, "1.34.2-150500.1.1");
  sb.startUnit("kubelet");
  sb.write("/etc/kubernetes/kubelet.conf", "apiVersion: v1\nkind: Config\n");
  sb.write(
    "/etc/yum.repos.d/kubernetes.repo",
    "[kubernetes]\nname=Kubernetes\nbaseurl=https://pkgs.k8s.io/core:/stable:/v1.34/rpm/\nenabled=1\ngpgcheck=1\ngpgkey=https://pkgs.k8s.io/core:/stable:/v1.34/rpm/repodata/repomd.xml.key\nexclude=kubelet kubeadm kubectl cri-tools kubernetes-cni\n",
  );
}

const upgradeNode = (mode: "check" | "upgrade") =>
  steps.renderUpgradeNode({
    mode,
    kubeadmAction: "node",
    role: "worker",
    targetVersion: "1.35.0",
    packageManager: "dnf",
    timeoutSeconds: 30,
  });

describe("upgrade-node on a dnf worker", () => {
  const TARGET = { DOUBLE_DNF_VERSIONS: "1.35.0-150500.1.1 1.34.2-150500.1.1" };

  sandboxTest(
    "kubeadm, upgrade node, then kubelet and kubectl; a second run changes nothing",
    async (sb) => {
      joinedNode(sb);
      const runs = await runTwice(sb, upgradeNode("upgrade"), {
        env: { ...TARGET, DOUBLE_UPGRADE_TO: "v1.35.0" },
      });
      expect(runs.first.code).toBe(0);
      expect(dnfInstalls(runs.firstCalls)).toEqual([
        "--disableexcludes=kubernetes kubeadm-1.35.0-150500.1.1",
        "--disableexcludes=kubernetes kubelet-1.35.0-150500.1.1 kubectl-1.35.0-150500.1.1",
      ]);
      expect(runs.firstCalls.filter((c) => c.startsWith("kubeadm "))).toEqual([
        "kubeadm upgrade node",
      ]);
      expect(sb.read("/etc/yum.repos.d/kubernetes.repo")).toContain(
        "baseurl=https://pkgs.k8s.io/core:/stable:/v1.35/rpm/\n",
      );
      expect(sb.read("/../state/pkg/kubelet").trim()).toBe("1.35.0-150500.1.1");
      expect(runs.second.code).toBe(0);
      expect(runs.second.stderr).toContain("already at 1.35.0; nothing to do");
      expect(dnfInstalls(runs.secondCalls)).toEqual([]);
      expect(runs.changed).toEqual([]);
    },
  );

  sandboxTest(
    "check: asks the target's repository from the command line, changing nothing",
    async (sb) => {
      joinedNode(sb);
      const before = sb.read("/etc/yum.repos.d/kubernetes.repo");
      const r = await sb.run(upgradeNode("check"));
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(
        "kubeadm 1.35.0 is available (1.35.0-150500.1.1) in the v1.35 repository",
      );
      const list = callsOf(sb, "dnf").find((c) => c.includes(" list "))!;
      expect(list).toContain("--disablerepo=*");
      expect(list).toContain(
        "--repofrompath=kubernetes-target,https://pkgs.k8s.io/core:/stable:/v1.35/rpm/",
      );
      expect(sb.read("/etc/yum.repos.d/kubernetes.repo")).toBe(before);
      expect(dnfInstalls(sb.calls())).toEqual([]);
    },
  );

  sandboxTest(
    "check: a version the repository lacks is refused, listing what it has",
    async (sb) => {
      joinedNode(sb);
      const r = await sb.run(upgradeNode("check"), {
        env: { DOUBLE_DNF_TARGET_VERSIONS: "1.35.1-150500.1.1 1.35.2-150500.1.1" },
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("Kubernetes 1.35.0 is not in pkgs.k8s.io's v1.35 repository");
      expect(r.stderr).toContain("  1.35.2-150500.1.1");
    },
  );
});
