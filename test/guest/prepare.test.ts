/**
 * prepare: kernel settings, repositories, pinned packages and the container runtime, run for real
 * against recording doubles; above all, a second run must change nothing.
 */
import { type PrepareInputs, renderPrepare } from "../../render/steps";
import { callsOf, runTwice, Sandbox, sandboxTest, scenario } from "./sandbox";
import { prepareCriDockerdInputs, prepareInputs } from "./params";

const UBUNTU_NOBLE =
  'PRETTY_NAME="Ubuntu 24.04.3 LTS"\nID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=noble\n';
const DEBIAN_BOOKWORM =
  'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_CODENAME=bookworm\n';

/** A fresh cloud image: os-release, an fstab with a swap file, curl and gpg preinstalled. */
function freshNode(sb: Sandbox, osRelease = UBUNTU_NOBLE): void {
  sb.write("/etc/os-release", osRelease);
  sb.write(
    "/etc/fstab",
    "LABEL=cloudimg-rootfs / ext4 discard,errors=remount-ro 0 1\n/swap.img none swap sw 0 0\n",
  );
  for (const pkg of ["ca-certificates", "curl", "gpg", "iptables"]) {
    sb.installPackage(pkg, "1.0-1");
  }
}

/** Calls that change a node: installs, unit changes, downloads, image pulls, holds. */
const isMutating = (line: string): boolean =>
  /^(apt-get|curl|gpg|apt-mark (hold|unhold))\b|^systemctl (enable|start|restart|daemon-reload|mask)\b|^kubeadm config images pull\b|^sysctl --system\b/.test(
    line,
  );

/** Prepare run twice on one fresh node. */
function twoRuns(inputs: PrepareInputs, env: Record<string, string> = {}) {
  return scenario((sb) => {
    freshNode(sb);
    return runTwice(sb, renderPrepare(inputs), { env });
  });
}

const grep = (calls: string[], double: string): string[] =>
  calls.filter((line) => line.startsWith(`${double} `));

describe("prepare on a fresh Ubuntu node with containerd", () => {
  const runs = twoRuns(prepareInputs, { DOUBLE_SWAP_UNITS: "swap.img.swap" });

  test("succeeds and prints nothing on stdout", () => {
    expect(runs().first.stderr).toContain("node prepared");
    expect(runs().first.code).toBe(0);
    expect(runs().first.stdout).toBe("");
  });

  test("turns swap off for good: swapoff, fstab line commented out, swap unit masked", () => {
    const { sb, firstCalls } = runs();
    expect(grep(firstCalls, "swapoff")).toEqual(["swapoff -a"]);
    expect(sb.read("/etc/fstab")).toBe(
      "LABEL=cloudimg-rootfs / ext4 discard,errors=remount-ro 0 1\n#/swap.img none swap sw 0 0\n",
    );
    expect(firstCalls).toContain("systemctl mask swap.img.swap");
  });

  test("loads and persists overlay and br_netfilter and the bridge/forwarding sysctls", () => {
    const { sb, firstCalls } = runs();
    expect(sb.read("/etc/modules-load.d/k8s.conf")).toBe("overlay\nbr_netfilter\n");
    expect(grep(firstCalls, "modprobe")).toEqual(["modprobe overlay", "modprobe br_netfilter"]);
    expect(sb.read("/etc/sysctl.d/k8s.conf")).toBe(
      "net.bridge.bridge-nf-call-iptables = 1\nnet.bridge.bridge-nf-call-ip6tables = 1\nnet.ipv4.ip_forward = 1\n",
    );
    expect(firstCalls).toContain("sysctl --system");
  });

  test("adds the pkgs.k8s.io repository of the minor version and Docker's repository", () => {
    const { sb } = runs();
    expect(sb.read("/etc/apt/sources.list.d/kubernetes.list")).toBe(
      "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v1.34/deb/ /\n",
    );
    expect(sb.read("/etc/apt/keyrings/kubernetes-apt-keyring.gpg")).toMatch(/^DEARMORED\n/);
    expect(sb.read("/etc/apt/sources.list.d/docker.list")).toBe(
      "deb [arch=amd64 signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/ubuntu noble stable\n",
    );
    expect(sb.mode("/etc/apt/keyrings/docker.asc")).toBe(0o644);
  });

  test("installs kubeadm, kubelet and kubectl at the exact package revision, then holds them", () => {
    const { firstCalls } = runs();
    const apt = grep(firstCalls, "apt-get");
    expect(apt.every((c) => c.includes("-o DPkg::Lock::Timeout=600"))).toBe(true);
    expect(apt.filter((c) => / install /.test(c)).map((c) => c.replace(/.* install /, ""))).toEqual(
      [
        "--no-install-recommends conntrack socat ethtool",
        "--no-install-recommends containerd.io",
        "--no-install-recommends --allow-downgrades --allow-change-held-packages kubeadm=1.34.2-1.1 kubelet=1.34.2-1.1 kubectl=1.34.2-1.1 cri-tools",
      ],
    );
    expect(firstCalls).toContain("apt-mark hold kubeadm kubelet kubectl");
  });

  test("configures containerd, restarts it once and checks that it answers", () => {
    const { sb, firstCalls } = runs();
    expect(sb.read("/etc/containerd/config.toml")).toContain("SystemdCgroup = true");
    expect(firstCalls.filter((c) => c.startsWith("systemctl restart"))).toEqual([
      "systemctl restart containerd",
    ]);
    expect(firstCalls).toContain("containerd config dump");
    expect(firstCalls).toContain(
      "crictl --runtime-endpoint unix:///run/containerd/containerd.sock info",
    );
    expect(sb.read("/etc/crictl.yaml")).toBe(
      "runtime-endpoint: unix:///run/containerd/containerd.sock\nimage-endpoint: unix:///run/containerd/containerd.sock\ntimeout: 10\ndebug: false\n",
    );
  });

  test("pre-pulls kubeadm's images on a control-plane node", () => {
    expect(runs().firstCalls).toContain(
      "kubeadm config images pull --kubernetes-version v1.34.2 --cri-socket unix:///run/containerd/containerd.sock",
    );
  });

  test("a second run installs, downloads, restarts, pulls and rewrites nothing", () => {
    const { second, secondCalls, changed } = runs();
    expect(second.code).toBe(0);
    expect(secondCalls.filter(isMutating)).toEqual([]);
    expect(changed).toEqual([]);
  });
});

describe("prepare on a Debian 12 arm64 worker", () => {
  const debian = scenario(async (sb) => {
    freshNode(sb, DEBIAN_BOOKWORM);
    const result = await sb.run(renderPrepare({ ...prepareInputs, role: "worker" }), {
      env: { DOUBLE_ARCH: "arm64" },
    });
    return { result };
  });

  test("uses Docker's Debian repository for the node's architecture", () => {
    const { sb, result } = debian();
    expect(result.code).toBe(0);
    expect(sb.read("/etc/apt/sources.list.d/docker.list")).toBe(
      "deb [arch=arm64 signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/debian bookworm stable\n",
    );
    expect(callsOf(sb, "curl")).toContainEqual(
      expect.stringContaining("https://download.docker.com/linux/debian/gpg"),
    );
  });

  test("does not pre-pull images on a worker", () => {
    const { sb, result } = debian();
    expect(callsOf(sb, "kubeadm").some((c) => c.includes("images pull"))).toBe(false);
    expect(result.stderr).toContain("not pre-pulling images on a worker node");
  });
});

sandboxTest(
  "prepare fails clearly when the repository has no package for the Kubernetes version",
  async (sb) => {
    freshNode(sb);
    const r = await sb.run(renderPrepare(prepareInputs), {
      env: { DOUBLE_MADISON_VERSIONS: "1.34.1-1.1 1.34.0-1.1" },
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("kubeadm 1.34.2 is not in the v1.34 repository");
    expect(callsOf(sb, "apt-get").some((c) => c.includes("kubeadm="))).toBe(false);
  },
);

describe("containerd config editing", () => {
  /** Runs only configure_containerd from the rendered prepare script, on a default config sample. */
  async function configFrom(sb: Sandbox, fixture: string): Promise<string> {
    const script = renderPrepare(prepareInputs);
    const call = "configure_containerd registry.k8s.io/pause:3.10.1";
    const only = script.replace(/\nmain "\$@"\n*$/, `\n${call}\n`);
    expect(only).toContain(call);
    const r = await sb.run(only, { env: { DOUBLE_CONTAINERD_DEFAULT: fixture } });
    expect(r.stderr).toContain("SystemdCgroup = true, sandbox registry.k8s.io/pause:3.10.1");
    expect(r.code).toBe(0);
    return sb.read("/etc/containerd/config.toml");
  }

  /** The lines of one TOML table, header excluded. */
  function table(toml: string, header: string): string[] {
    const lines = toml.split("\n");
    const start = lines.findIndex((l) => l.trim() === header);
    expect(start).toBeGreaterThanOrEqual(0);
    const rest = lines.slice(start + 1);
    const end = rest.findIndex((l) => l.trim().startsWith("["));
    return (end < 0 ? rest : rest.slice(0, end)).map((l) => l.trim()).filter(Boolean);
  }

  sandboxTest(
    "containerd 1.7 (config version 2): SystemdCgroup and sandbox_image in the CRI tables",
    async (sb) => {
      const toml = await configFrom(sb, "v2");
      expect(
        table(toml, '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]'),
      ).toContain("SystemdCgroup = true");
      const cri = table(toml, '[plugins."io.containerd.grpc.v1.cri"]');
      expect(cri).toContain('sandbox_image = "registry.k8s.io/pause:3.10.1"');
      expect(cri).toContain("systemd_cgroup = false"); // the deprecated v1-shim option stays off
      expect(toml).not.toContain("SystemdCgroup = false");
      expect(toml).not.toContain("pause:3.8");
      expect(toml.split("\n")).toContain("version = 2");
    },
  );

  sandboxTest(
    "containerd 2.x (config version 3): SystemdCgroup and the pinned sandbox image",
    async (sb) => {
      const toml = await configFrom(sb, "v3");
      expect(
        table(toml, "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]"),
      ).toContain("SystemdCgroup = true");
      expect(table(toml, "[plugins.'io.containerd.cri.v1.images'.pinned_images]")).toEqual([
        "sandbox = 'registry.k8s.io/pause:3.10.1'",
      ]);
      expect(toml).not.toContain("SystemdCgroup = false");
      expect(toml.split("\n")[0]).toBe("version = 3");
    },
  );

  sandboxTest(
    "containerd 2.0 without a SystemdCgroup line: the key is added to the runc options",
    async (sb) => {
      const toml = await configFrom(sb, "v3-no-systemd-cgroup");
      const options = table(
        toml,
        "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]",
      );
      expect(options[0]).toBe("SystemdCgroup = true");
      expect(options.filter((l) => l.startsWith("SystemdCgroup"))).toHaveLength(1);
    },
  );
});

describe("prepare with Docker Engine and cri-dockerd", () => {
  const runs = twoRuns(prepareCriDockerdInputs, { DOUBLE_ARCH: "arm64" });

  test("installs Docker Engine and sets its systemd cgroup driver and log rotation", () => {
    const { sb, first, firstCalls } = runs();
    expect(first.stderr).toContain("node prepared");
    expect(first.code).toBe(0);
    expect(
      grep(firstCalls, "apt-get").some((c) =>
        / install .*docker-ce docker-ce-cli containerd\.io$/.test(c),
      ),
    ).toBe(true);
    expect(JSON.parse(sb.read("/etc/docker/daemon.json"))).toEqual({
      "exec-opts": ["native.cgroupdriver=systemd"],
      "log-driver": "json-file",
      "log-opts": { "max-size": "100m", "max-file": "3" },
      "storage-driver": "overlay2",
    });
    expect(firstCalls).toContain("systemctl restart docker");
  });

  test("installs the cri-dockerd release binary for the node's architecture", () => {
    const { sb, firstCalls } = runs();
    expect(grep(firstCalls, "curl")).toContainEqual(
      expect.stringContaining(
        "https://github.com/Mirantis/cri-dockerd/releases/download/v0.3.20/cri-dockerd-0.3.20.arm64.tgz",
      ),
    );
    expect(sb.mode("/usr/local/bin/cri-dockerd")).toBe(0o755);
  });

  test("runs cri-dockerd from socket and service units with kubeadm's pause image", () => {
    const { sb, firstCalls } = runs();
    const service = sb.read("/etc/systemd/system/cri-docker.service");
    expect(service).toContain(
      "ExecStart=/usr/local/bin/cri-dockerd --container-runtime-endpoint fd:// --pod-infra-container-image registry.k8s.io/pause:3.10.1 --network-plugin=cni\n",
    );
    expect(service).toContain("Requires=cri-docker.socket");
    expect(service).toContain("After=network-online.target firewalld.service docker.service");
    expect(service).toContain("ExecReload=/bin/kill -s HUP $MAINPID");
    const socket = sb.read("/etc/systemd/system/cri-docker.socket");
    expect(socket).toContain("ListenStream=%t/cri-dockerd.sock");
    expect(socket).toContain("SocketMode=0660");
    expect(socket).toContain("SocketGroup=docker");
    expect(firstCalls).toContain("systemctl daemon-reload");
    expect(firstCalls).toContain("systemctl restart cri-docker.service");
    expect(firstCalls).toContain("crictl --runtime-endpoint unix:///run/cri-dockerd.sock info");
    expect(sb.read("/etc/crictl.yaml")).toContain("image-endpoint: unix:///run/cri-dockerd.sock");
  });

  test("a second run neither downloads cri-dockerd again nor restarts anything", () => {
    const { second, secondCalls, changed } = runs();
    expect(second.code).toBe(0);
    expect(second.stderr).toContain("cri-dockerd 0.3.20 is already installed");
    expect(secondCalls.filter(isMutating)).toEqual([]);
    expect(changed).toEqual([]);
  });
});
