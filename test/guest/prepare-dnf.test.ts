/**
 * prepare on RHEL-family nodes (dnf): the same guarantees as on Debian-family ones, run for real
 * against recording doubles of dnf, rpm, getenforce, setenforce, firewall-cmd and systemctl: the
 * pkgs.k8s.io rpm repository of the minor with its exclude line, exact versions installed with
 * --disableexcludes=kubernetes, Docker's repository on the RHEL rebuilds and Amazon Linux's own
 * runtime packages, SELinux permissive or enforcing, firewalld stopped or given the cluster's
 * ports, a bounded wait for rpm's lock; above all, a second run changes nothing.
 */
import { type PrepareInputs, renderPrepare } from "../../render/steps";
import { runTwice, type Sandbox, sandboxTest, scenario } from "./sandbox";
import { CONTROL_PLANE_PORTS, prepareCriDockerdInputs, prepareDnfInputs } from "./params";

const ROCKY_9 =
  'NAME="Rocky Linux"\nVERSION="9.5 (Blue Onyx)"\nID="rocky"\nID_LIKE="rhel centos fedora"\n';
const AMAZON_LINUX_2023 = 'NAME="Amazon Linux"\nVERSION="2023"\nID="amzn"\nID_LIKE="fedora"\n';
const ORACLE_LINUX_9 = 'NAME="Oracle Linux Server"\nVERSION="9.5"\nID="ol"\nID_LIKE="fedora"\n';

/** A fresh cloud image: os-release, SELinux config, curl and friends preinstalled. */
function freshNode(sb: Sandbox, osRelease: string, selinux = "enforcing"): void {
  sb.write("/etc/os-release", osRelease);
  sb.write("/etc/fstab", "UUID=0 / xfs defaults 0 0\n");
  sb.write("/etc/selinux/config", `SELINUX=${selinux}\nSELINUXTYPE=targeted\n`);
  for (const pkg of ["ca-certificates", "curl-minimal", "iptables-nft"]) {
    sb.installPackage(pkg, "1.0-1");
  }
}

// curl and iptables are capabilities of other packages on these images.
const PROVIDES = { DOUBLE_RPM_PROVIDES: "curl=curl-minimal iptables=iptables-nft" };

/** Calls that change a node: installs, SELinux and firewalld changes, unit changes, pulls. */
const isMutating = (line: string): boolean =>
  /^(dnf (install|makecache)|setenforce|curl)\b|^firewall-cmd .*--(add|reload)|^systemctl (enable|disable|start|restart|daemon-reload|mask)\b|^kubeadm config images pull\b/.test(
    line,
  );

const installs = (calls: string[]): string[] =>
  calls
    .filter((c) => c.startsWith("dnf ") && / install /.test(c))
    .map((c) => c.replace(/^dnf -y -q (--refresh )?install /, ""));

const KUBERNETES_REPO = `[kubernetes]
name=Kubernetes
baseurl=https://pkgs.k8s.io/core:/stable:/v1.34/rpm/
enabled=1
gpgcheck=1
gpgkey=https://pkgs.k8s.io/core:/stable:/v1.34/rpm/repodata/repomd.xml.key
exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni
`;

function twoRuns(
  inputs: PrepareInputs,
  prepare: (sb: Sandbox) => void,
  env: Record<string, string> = {},
  without: string[] = [],
) {
  return scenario((sb) => {
    prepare(sb);
    return runTwice(sb, renderPrepare(inputs), { env: { ...PROVIDES, ...env }, without });
  });
}

describe("prepare on Rocky Linux 9 with containerd: SELinux permissive, firewalld stopped", () => {
  const runs = twoRuns(prepareDnfInputs, (sb) => {
    freshNode(sb, ROCKY_9);
    sb.startUnit("firewalld");
  });

  test("succeeds and prints nothing on stdout", () => {
    expect(runs().first.stderr).toContain("node prepared");
    expect(runs().first.code).toBe(0);
    expect(runs().first.stdout).toBe("");
  });

  test("sets SELinux permissive now and from the next boot on, as kubeadm's guide does", () => {
    const { sb, firstCalls } = runs();
    expect(firstCalls).toContain("setenforce 0");
    expect(sb.read("/etc/selinux/config")).toBe("SELINUX=permissive\nSELINUXTYPE=targeted\n");
  });

  test("stops and disables firewalld: the security groups are the firewall", () => {
    const { sb, firstCalls } = runs();
    expect(firstCalls).toContain("systemctl disable --now firewalld");
    expect(sb.exists("/etc/firewalld")).toBe(false);
    expect(firstCalls.some((c) => c.startsWith("firewall-cmd"))).toBe(false);
  });

  test("adds the pkgs.k8s.io rpm repository of the minor with its exclude line, and Docker's", () => {
    const { sb } = runs();
    expect(sb.read("/etc/yum.repos.d/kubernetes.repo")).toBe(KUBERNETES_REPO);
    expect(sb.read("/etc/yum.repos.d/docker-ce.repo")).toContain(
      "baseurl=https://download.docker.com/linux/centos/$releasever/$basearch/stable\n",
    );
  });

  test("installs what is missing, containerd.io, then the exact Kubernetes versions past the exclude", () => {
    const { firstCalls } = runs();
    expect(installs(firstCalls)).toEqual([
      "conntrack-tools socat ethtool iproute-tc tar",
      "containerd.io",
      "--disableexcludes=kubernetes kubeadm-1.34.2-150500.1.1 kubelet-1.34.2-150500.1.1 kubectl-1.34.2-150500.1.1 cri-tools",
    ]);
    // The first dnf call after the repository files changed refreshes the metadata.
    expect(
      firstCalls.filter((c) => c.startsWith("dnf ")).find((c) => c.includes("--refresh")),
    ).toBe("dnf -y -q --refresh install containerd.io");
  });

  test("swap, kernel modules, sysctls and containerd as on Debian-family nodes", () => {
    const { sb, firstCalls } = runs();
    expect(firstCalls).toContain("swapoff -a");
    expect(sb.read("/etc/modules-load.d/k8s.conf")).toBe("overlay\nbr_netfilter\n");
    expect(sb.read("/etc/sysctl.d/k8s.conf")).toContain("net.ipv4.ip_forward = 1\n");
    expect(sb.read("/etc/containerd/config.toml")).toContain("SystemdCgroup = true");
    // containerd's default (false) stays: SELinux is permissive.
    expect(sb.read("/etc/containerd/config.toml")).not.toContain("enable_selinux = true");
    expect(firstCalls).toContain("systemctl enable kubelet");
  });

  test("a second run installs, relabels, opens, restarts and rewrites nothing", () => {
    const { second, secondCalls, changed } = runs();
    expect(second.code).toBe(0);
    expect(secondCalls.filter(isMutating)).toEqual([]);
    expect(changed).toEqual([]);
  });
});

describe("prepare on Amazon Linux 2023 with cri-dockerd and SELinux enforcing", () => {
  const inputs: PrepareInputs = {
    ...prepareCriDockerdInputs,
    packageManager: "dnf",
    rhel: { selinux: "enforcing", firewalld: "stopped", firewallPorts: [] },
  };
  // Amazon Linux 2023 boots permissive and has no firewalld.
  const runs = twoRuns(
    inputs,
    (sb) => freshNode(sb, AMAZON_LINUX_2023, "permissive"),
    { DOUBLE_SELINUX: "Permissive" },
    ["firewall-cmd"],
  );

  test("installs container-selinux, enforces SELinux and labels Docker's containers", () => {
    const { sb, first, firstCalls } = runs();
    expect(first.code).toBe(0);
    expect(installs(firstCalls)).toContain("container-selinux");
    expect(firstCalls).toContain("setenforce 1");
    expect(sb.read("/etc/selinux/config")).toContain("SELINUX=enforcing\n");
    expect(sb.read("/etc/docker/daemon.json")).toContain('"selinux-enabled": true,');
  });

  test("takes docker and containerd from Amazon Linux itself, no Docker repository", () => {
    const { sb, first, firstCalls } = runs();
    expect(installs(firstCalls)).toContain("docker containerd");
    expect(sb.exists("/etc/yum.repos.d/docker-ce.repo")).toBe(false);
    expect(first.stderr).toContain("Amazon Linux ships its own containerd and docker packages");
    expect(first.stderr).toContain("firewalld is not installed on this image");
  });

  test("a second run changes nothing", () => {
    const { second, secondCalls, changed } = runs();
    expect(second.code).toBe(0);
    expect(secondCalls.filter(isMutating)).toEqual([]);
    expect(changed).toEqual([]);
  });
});

describe("prepare on Oracle Linux 9 with firewalld kept and given the cluster's ports", () => {
  const inputs: PrepareInputs = {
    ...prepareDnfInputs,
    rhel: { selinux: "permissive", firewalld: "cluster-ports", firewallPorts: CONTROL_PLANE_PORTS },
  };
  const runs = twoRuns(inputs, (sb) => {
    freshNode(sb, ORACLE_LINUX_9);
    sb.startUnit("firewalld");
  });

  test("opens every port and masquerading permanently, then reloads once", () => {
    const { first, firstCalls } = runs();
    expect(first.code).toBe(0);
    expect(firstCalls.filter((c) => c.includes("--add-port"))).toEqual(
      CONTROL_PLANE_PORTS.map((p) => `firewall-cmd --permanent --add-port=${p}`),
    );
    expect(firstCalls).toContain("firewall-cmd --permanent --add-masquerade");
    expect(firstCalls.filter((c) => c === "firewall-cmd --reload")).toHaveLength(1);
    expect(firstCalls).not.toContain("systemctl disable --now firewalld");
  });

  test("a second run opens and reloads nothing", () => {
    const { second, secondCalls, changed } = runs();
    expect(second.code).toBe(0);
    expect(secondCalls.filter(isMutating)).toEqual([]);
    expect(changed).toEqual([]);
  });
});

sandboxTest("enforcing turns on containerd's SELinux support", async (sb) => {
  freshNode(sb, ROCKY_9);
  const r = await sb.run(
    renderPrepare({
      ...prepareDnfInputs,
      rhel: { selinux: "enforcing", firewalld: "stopped", firewallPorts: [] },
    }),
    { env: PROVIDES },
  );
  expect(r.code).toBe(0);
  expect(sb.read("/etc/containerd/config.toml")).toMatch(/\n\s*enable_selinux = true\n/);
  expect(sb.read("/etc/selinux/config")).toContain("SELINUX=enforcing\n");
});

sandboxTest("enforcing on an image with SELinux disabled stops with what to do", async (sb) => {
  freshNode(sb, ROCKY_9, "disabled");
  const r = await sb.run(
    renderPrepare({
      ...prepareDnfInputs,
      rhel: { selinux: "enforcing", firewalld: "stopped", firewallPorts: [] },
    }),
    { env: { ...PROVIDES, DOUBLE_SELINUX: "Disabled" } },
  );
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("SELinux is disabled in this image");
  expect(r.stderr).toContain("`pulumi config set selinux permissive`");
});

sandboxTest("a held rpm lock is waited for, bounded, and its holder named", async (sb) => {
  freshNode(sb, ROCKY_9);
  const holder = await sb.holdOpen("/var/lib/rpm/.rpm.lock", 30);
  const r = await sb.run(renderPrepare(prepareDnfInputs), {
    env: { ...PROVIDES, KUBEADM_AWS_DNF_LOCK_WAIT_SECONDS: "1" },
  });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`/var/lib/rpm/.rpm.lock is held by PID ${holder.pid}`);
  expect(r.stderr).toContain("dnf/rpm still busy after 1s");
});

sandboxTest(
  "a Kubernetes version missing from the repository is named with the ones there",
  async (sb) => {
    freshNode(sb, ROCKY_9);
    sb.startUnit("firewalld");
    const r = await sb.run(renderPrepare(prepareDnfInputs), {
      env: { ...PROVIDES, DOUBLE_DNF_VERSIONS: "1.34.1-150500.1.1" },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("kubeadm.x86_64    1.34.1-150500.1.1    kubernetes");
    expect(r.stderr).toContain("kubeadm 1.34.2 is not in the v1.34 repository");
  },
);

sandboxTest("dnf is retried, then stops with its log and repositories", async (sb) => {
  freshNode(sb, ROCKY_9);
  sb.write(
    "/var/log/dnf.log",
    "2026-12-04T10:00:00+0000 DEBUG Curl error (6): Couldn't resolve host\n",
  );
  const r = await sb.run(renderPrepare(prepareDnfInputs), {
    env: { ...PROVIDES, DOUBLE_DNF_FAILS: "3" },
  });
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("Failed to download metadata for repo");
  expect(r.stderr).toContain("dnf log (last 30 lines):");
  expect(r.stderr).toContain("Couldn't resolve host");
  expect(r.stderr).toContain("enabled repositories (dnf repolist):");
  expect(r.stderr).toContain("failed three times (the diagnostics are above)");
  expect(sb.calls().filter((c) => c.startsWith("dnf -y -q install conntrack-tools"))).toHaveLength(
    3,
  );
});
