/**
 * The families of the operating systems the nodes and the bastion run, and what works on each:
 * the package manager (it picks the package library of a step: render/steps.ts), whether the
 * RHEL-only keys (`selinux`, `firewalld`) apply, and the table of container runtimes and CNIs
 * per OS that configRules.ts checks a config against.
 */
import type { CniName, ContainerRuntime, OperatingSystem } from "./defaults";
import { OPERATING_SYSTEMS } from "./defaults";

/** The nodes' package manager: apt on Debian and Ubuntu, dnf on the RHEL family. */
export type PackageManager = "apt" | "dnf";

/** Each OS's package manager. */
export const PACKAGE_MANAGERS: Readonly<Record<OperatingSystem, PackageManager>> = {
  "ubuntu-24.04": "apt",
  "ubuntu-22.04": "apt",
  "debian-12": "apt",
  "rocky-9": "dnf",
  "almalinux-9": "dnf",
  "amazon-linux-2023": "dnf",
  "oracle-linux-9": "dnf",
};

export function packageManagerOf(os: OperatingSystem): PackageManager {
  return PACKAGE_MANAGERS[os];
}

/** RHEL family: dnf, SELinux and firewalld (the `selinux` and `firewalld` keys apply). */
export function isRhelFamily(os: OperatingSystem): boolean {
  return packageManagerOf(os) === "dnf";
}

/** The RHEL-family choices of `os`, in their order there. */
export const RHEL_FAMILY: readonly OperatingSystem[] = OPERATING_SYSTEMS.filter(isRhelFamily);

/** `a, b, c and d`. */
export function listInWords(items: readonly string[]): string {
  return items.length <= 1
    ? items.join("")
    : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}

/** Whether a runtime or CNI works on an OS: where its packages come from, or why not. */
export type Support =
  | { readonly supported: true; readonly note: string }
  | { readonly supported: false; readonly reason: string };

export interface OsSupport {
  readonly containerRuntime: Readonly<Record<ContainerRuntime, Support>>;
  readonly cni: Readonly<Record<CniName, Support>>;
}

/** For each OS, each container runtime and each CNI: OS x runtime x CNI. */
export type CompatibilityTable = Readonly<Record<OperatingSystem, OsSupport>>;

const ok = (note: string): Support => ({ supported: true, note });

/** Docker's repository for the distribution: containerd.io, and docker-ce for cri-dockerd. */
const DOCKER_APT = {
  containerd: ok("containerd.io from Docker's apt repository"),
  "cri-dockerd": ok(
    "docker-ce and containerd.io from Docker's apt repository, cri-dockerd's release",
  ),
} as const;
// Docker publishes no Rocky, Alma or Oracle repository: its CentOS (RHEL 9) repository serves
// containerd.io and docker-ce for them, x86_64 and aarch64
// (https://docs.docker.com/engine/install/centos/, https://download.docker.com/linux/centos/9/).
const DOCKER_CENTOS = {
  containerd: ok("containerd.io from Docker's CentOS 9 repository"),
  "cri-dockerd": ok(
    "docker-ce and containerd.io from Docker's CentOS 9 repository, cri-dockerd's release",
  ),
} as const;
// Amazon Linux 2023 ships its own containerd and docker packages (`dnf install containerd`,
// `dnf install docker`); Docker's repositories have no build for it.
const AL2023_OWN = {
  containerd: ok("containerd from the Amazon Linux 2023 repository"),
  "cri-dockerd": ok(
    "docker and containerd from the Amazon Linux 2023 repository, cri-dockerd's release",
  ),
} as const;
// Both CNIs run as pods that bring their own binaries; on the host they need only the kernel's
// VXLAN module, which every OS here has.
const BOTH_CNIS = {
  flannel: ok("VXLAN (UDP 8472), from its manifest"),
  calico: ok("VXLAN (UDP 4789) and Typha, from the Tigera operator"),
} as const;

/** What is known to work: every runtime and every CNI on every OS, amd64 and arm64. */
export const COMPATIBILITY: CompatibilityTable = {
  "ubuntu-24.04": { containerRuntime: DOCKER_APT, cni: BOTH_CNIS },
  "ubuntu-22.04": { containerRuntime: DOCKER_APT, cni: BOTH_CNIS },
  "debian-12": { containerRuntime: DOCKER_APT, cni: BOTH_CNIS },
  "rocky-9": { containerRuntime: DOCKER_CENTOS, cni: BOTH_CNIS },
  "almalinux-9": { containerRuntime: DOCKER_CENTOS, cni: BOTH_CNIS },
  "amazon-linux-2023": { containerRuntime: AL2023_OWN, cni: BOTH_CNIS },
  "oracle-linux-9": { containerRuntime: DOCKER_CENTOS, cni: BOTH_CNIS },
};

/**
 * The combination of `os`, `containerRuntime` and `cni` checked against the table: one problem
 * per unsupported pair, naming the OS, the runtime or CNI, why, and what works instead.
 * `check` says which keys are valid (a key that failed its own check is not judged again).
 */
export function compatibilityProblems(
  c: {
    readonly os: OperatingSystem;
    readonly containerRuntime: ContainerRuntime;
    readonly cni: CniName;
  },
  check: { readonly containerRuntime: boolean; readonly cni: boolean } = {
    containerRuntime: true,
    cni: true,
  },
  table: CompatibilityTable = COMPATIBILITY,
): string[] {
  const entry = table[c.os];
  if (!entry) return [];
  const problems: string[] = [];
  const refuse = (key: "containerRuntime" | "cni", value: string, support: Support) => {
    if (support.supported) return;
    const others = Object.entries(entry[key])
      .filter(([, s]) => s.supported)
      .map(([name]) => name);
    const elsewhere = Object.entries(table)
      .filter(([, e]) => (e[key] as Record<string, Support>)[value]?.supported)
      .map(([os]) => os);
    problems.push(
      `${key} ${value} is not supported on os ${c.os}: ${support.reason}; ` +
        (others.length > 0
          ? `use \`pulumi config set ${key} ${others[0]}\``
          : `no ${key} works on ${c.os}`) +
        (elsewhere.length > 0 ? `, or an os that has it (${listInWords(elsewhere)})` : ""),
    );
  };
  const runtime = entry.containerRuntime[c.containerRuntime];
  if (check.containerRuntime && runtime) refuse("containerRuntime", c.containerRuntime, runtime);
  const cni = entry.cni[c.cni];
  if (check.cni && cni) refuse("cni", c.cni, cni);
  return problems;
}
