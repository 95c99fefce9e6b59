/**
 * The OS families (config/osFamily.ts): the package manager of each OS, and the table of
 * container runtimes and CNIs per OS, checked with the real table (every combination works) and
 * with an injected unsupported entry (refused, naming the OS and the runtime or CNI).
 */
import {
  CNIS,
  CONTAINER_RUNTIMES,
  OPERATING_SYSTEMS,
  validateClusterConfig,
} from "../../config/clusterConfig";
import {
  COMPATIBILITY,
  CompatibilityTable,
  compatibilityProblems,
  isRhelFamily,
  packageManagerOf,
  RHEL_FAMILY,
} from "../../config/osFamily";

test("apt on Ubuntu and Debian, dnf on the RHEL family", () => {
  expect(Object.fromEntries(OPERATING_SYSTEMS.map((os) => [os, packageManagerOf(os)]))).toEqual({
    "ubuntu-24.04": "apt",
    "ubuntu-22.04": "apt",
    "debian-12": "apt",
    "rocky-9": "dnf",
    "almalinux-9": "dnf",
    "amazon-linux-2023": "dnf",
    "oracle-linux-9": "dnf",
  });
  expect(RHEL_FAMILY).toEqual(["rocky-9", "almalinux-9", "amazon-linux-2023", "oracle-linux-9"]);
  expect(OPERATING_SYSTEMS.filter(isRhelFamily)).toEqual(RHEL_FAMILY);
});

const COMBINATIONS = OPERATING_SYSTEMS.flatMap((os) =>
  CONTAINER_RUNTIMES.flatMap((containerRuntime) =>
    CNIS.map((cni) => ({ os, containerRuntime, cni })),
  ),
);

describe("the compatibility table", () => {
  test("has an entry for every OS, runtime and CNI", () => {
    for (const os of OPERATING_SYSTEMS) {
      expect(Object.keys(COMPATIBILITY[os].containerRuntime).sort()).toEqual(
        [...CONTAINER_RUNTIMES].sort(),
      );
      expect(Object.keys(COMPATIBILITY[os].cni).sort()).toEqual([...CNIS].sort());
    }
  });

  test.each(COMBINATIONS)(
    "accepts $os with $containerRuntime and $cni (check and validation)",
    (combination) => {
      expect(compatibilityProblems(combination)).toEqual([]);
      expect(() =>
        validateClusterConfig({ sshIngressCidrs: ["203.0.113.10/32"], ...combination }),
      ).not.toThrow();
    },
  );

  test("Amazon Linux 2023 uses its own runtime packages, the others Docker's repositories", () => {
    const note = (os: (typeof OPERATING_SYSTEMS)[number]) => {
      const s = COMPATIBILITY[os].containerRuntime.containerd;
      return s.supported ? s.note : s.reason;
    };
    expect(note("amazon-linux-2023")).toContain("Amazon Linux 2023 repository");
    for (const os of ["rocky-9", "almalinux-9", "oracle-linux-9"] as const) {
      expect(note(os)).toContain("Docker's CentOS 9 repository");
    }
  });
});

describe("an unsupported combination", () => {
  /** The real table with cri-dockerd and Calico marked unsupported on Oracle Linux 9. */
  const table: CompatibilityTable = {
    ...COMPATIBILITY,
    "oracle-linux-9": {
      containerRuntime: {
        ...COMPATIBILITY["oracle-linux-9"].containerRuntime,
        "cri-dockerd": { supported: false, reason: "no docker-ce build for it" },
      },
      cni: {
        ...COMPATIBILITY["oracle-linux-9"].cni,
        calico: { supported: false, reason: "its kernel lacks a module Calico needs" },
      },
    },
  };

  test("is refused, naming the OS, the runtime, why, and what to type", () => {
    expect(
      compatibilityProblems(
        { os: "oracle-linux-9", containerRuntime: "cri-dockerd", cni: "flannel" },
        undefined,
        table,
      ),
    ).toEqual([
      "containerRuntime cri-dockerd is not supported on os oracle-linux-9: no docker-ce build for it; " +
        "use `pulumi config set containerRuntime containerd`, or an os that has it " +
        "(ubuntu-24.04, ubuntu-22.04, debian-12, rocky-9, almalinux-9 and amazon-linux-2023)",
    ]);
  });

  test("is refused for a CNI too, both problems at once", () => {
    const problems = compatibilityProblems(
      { os: "oracle-linux-9", containerRuntime: "cri-dockerd", cni: "calico" },
      undefined,
      table,
    );
    expect(problems).toHaveLength(2);
    expect(problems[1]).toBe(
      "cni calico is not supported on os oracle-linux-9: its kernel lacks a module Calico needs; " +
        "use `pulumi config set cni flannel`, or an os that has it " +
        "(ubuntu-24.04, ubuntu-22.04, debian-12, rocky-9, almalinux-9 and amazon-linux-2023)",
    );
  });

  test("leaves the other operating systems, and the supported pairs, alone", () => {
    expect(
      compatibilityProblems(
        { os: "rocky-9", containerRuntime: "cri-dockerd", cni: "calico" },
        undefined,
        table,
      ),
    ).toEqual([]);
    expect(
      compatibilityProblems(
        { os: "oracle-linux-9", containerRuntime: "containerd", cni: "flannel" },
        undefined,
        table,
      ),
    ).toEqual([]);
  });

  test("is not judged for a key that failed its own check", () => {
    expect(
      compatibilityProblems(
        { os: "oracle-linux-9", containerRuntime: "cri-dockerd", cni: "calico" },
        { containerRuntime: false, cni: false },
        table,
      ),
    ).toEqual([]);
  });

  test("with nothing that works says so", () => {
    const none: CompatibilityTable = {
      ...table,
      "oracle-linux-9": {
        ...table["oracle-linux-9"],
        containerRuntime: {
          containerd: { supported: false, reason: "none" },
          "cri-dockerd": { supported: false, reason: "none" },
        },
      },
    };
    const [problem] = compatibilityProblems(
      { os: "oracle-linux-9", containerRuntime: "containerd", cni: "flannel" },
      undefined,
      none,
    );
    expect(problem).toContain("no containerRuntime works on oracle-linux-9");
  });
});
