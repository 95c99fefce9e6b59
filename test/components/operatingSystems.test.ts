/**
 * The RHEL-family operating systems under mocks: each of Rocky Linux 9, AlmaLinux 9, Amazon Linux
 * 2023 and Oracle Linux 9, with both container runtimes and both CNIs (16 clusters of 3 control
 * planes + 3 workers), built in one mock cloud. Only what the OS changes is checked here (the
 * graph is bootstrap.test.ts's): the images the instances and the bastion use, the SSH user of
 * every remote command, the package manager of the steps that install packages, and prepare's
 * SELinux and firewalld settings with the ports of each role and CNI. The expected owners, names
 * and users are written out here, not read from config/images.ts.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { ClusterConfigInput, CniName, ContainerRuntime } from "../../config/clusterConfig";
import { innerScript } from "../../tools/renderPlan";
import { shellcheck } from "../support/shellcheck";
import {
  Harness,
  installMocks,
  MOCK_CLUSTER_OPTIONS,
  MOCK_IMAGES,
  MOCK_PUBLIC_PARAMETERS,
  RecordedResource,
  settle,
} from "../../tools/mockCloud";

let h: Harness;
let lib: typeof import("../../components");

/** Where each OS's images come from, and its login. */
const EXPECTED = {
  "rocky-9": { owner: "792107900819", name: "Rocky-9-EC2-Base-9.", user: "rocky" },
  "almalinux-9": { owner: "764336703387", name: "AlmaLinux OS 9.", user: "ec2-user" },
  "oracle-linux-9": { owner: "131827586825", name: "OL9.", user: "ec2-user" },
  "amazon-linux-2023": { parameter: "al2023-ami-kernel-default-", user: "ec2-user" },
} as const;
type RhelOs = keyof typeof EXPECTED;

/** The ports firewalld must open per role (DESIGN.md "Ports", plus SSH), and per CNI. */
const PORTS = {
  "control-plane": [
    "22/tcp",
    "6443/tcp",
    "2379-2380/tcp",
    "10250/tcp",
    "10256/tcp",
    "10257/tcp",
    "10259/tcp",
    "30000-32767/tcp",
  ],
  worker: ["22/tcp", "10250/tcp", "10256/tcp", "30000-32767/tcp"],
} as const;
const CNI_PORTS: Record<CniName, string[]> = {
  flannel: ["8472/udp"],
  calico: ["4789/udp", "5473/tcp"],
};

interface Scenario {
  readonly name: string;
  readonly os: RhelOs;
  readonly runtime: ContainerRuntime;
  readonly cni: CniName;
  /** Both modes of each key are covered, and cluster-ports with both CNIs for every OS. */
  readonly selinux?: "enforcing";
  readonly firewalld?: "cluster-ports";
}

const SHORT: Record<RhelOs, string> = {
  "rocky-9": "rocky",
  "almalinux-9": "alma",
  "amazon-linux-2023": "al",
  "oracle-linux-9": "ol",
};
const SCENARIOS: Scenario[] = (Object.keys(EXPECTED) as RhelOs[]).flatMap((os) =>
  (["containerd", "cri-dockerd"] as const).flatMap((runtime) =>
    (["flannel", "calico"] as const).map((cni) => ({
      name: `${SHORT[os]}-${runtime === "containerd" ? "c" : "d"}-${cni.slice(0, 3)}`,
      os,
      runtime,
      cni,
      ...(runtime === "cri-dockerd" ? { selinux: "enforcing" as const } : {}),
      ...((runtime === "containerd") === (cni === "calico")
        ? { firewalld: "cluster-ports" as const }
        : {}),
    })),
  ),
);

/** What one cluster's evaluation leaves to check: its instances, commands and image lookups. */
interface Evaluated {
  readonly instances: RecordedResource[];
  readonly commands: RecordedResource[];
  readonly invokes: Harness["invokes"];
  readonly sshUser: string;
  readonly bastionUser: string;
}
const evaluated = new Map<string, Evaluated>();

async function evaluate(s: Scenario): Promise<Evaluated> {
  h.reset();
  const input: ClusterConfigInput = {
    clusterName: s.name,
    sshIngressCidrs: ["203.0.113.10/32"],
    os: s.os,
    containerRuntime: s.runtime,
    cni: s.cni,
    // Graviton control planes (and bastion), x86_64 workers: both architectures' images.
    controlPlane: { count: 3, instanceType: "t4g.medium" },
    workers: { count: 3 },
    availabilityZoneCount: 3,
    ...(s.selinux ? { selinux: s.selinux } : {}),
    ...(s.firewalld ? { firewalld: s.firewalld } : {}),
  };
  const cluster = await lib.createKubeadmCluster(
    lib.validateClusterConfig(input),
    MOCK_CLUSTER_OPTIONS,
  );
  await settle(cluster.kubeconfig, cluster.nodes);
  return {
    instances: h.byType("aws:ec2/instance:Instance"),
    commands: h.byType("command:remote:Command"),
    invokes: [...h.invokes],
    sshUser: cluster.sshUser,
    bastionUser: cluster.bastionUser,
  };
}

beforeAll(async () => {
  h = await installMocks();
  lib = await import("../../components");
  for (const s of SCENARIOS) evaluated.set(s.name, await evaluate(s));
}, 60_000);

/** The id of the image the mock's catalogue holds for the OS on an architecture. */
function expectedImage(os: RhelOs, arch: "x86_64" | "arm64"): string {
  const e = EXPECTED[os];
  if ("parameter" in e) {
    return MOCK_PUBLIC_PARAMETERS[`/aws/service/ami-amazon-linux-latest/${e.parameter}${arch}`]!;
  }
  const found = MOCK_IMAGES.filter(
    (i) => i.owner === e.owner && i.architecture === arch && i.name.startsWith(e.name),
  );
  expect(found).toHaveLength(1);
  return found[0]!.id;
}

/** A parameter line of a rendered script: `readonly NAME=value` or `readonly -a NAME=(...)`. */
function param(script: string, name: string): string | string[] | undefined {
  const array = new RegExp(`^readonly -a ${name}=\\((.*)\\)$`, "m").exec(script);
  if (array) return array[1]!.split(" ").filter(Boolean);
  return new RegExp(`^readonly ${name}=(.*)$`, "m").exec(script)?.[1];
}

test("there are 16 clusters: 4 operating systems x 2 runtimes x 2 CNIs", () => {
  expect(new Set(SCENARIOS.map((s) => `${s.os} ${s.runtime} ${s.cni}`)).size).toBe(16);
  expect(new Set(SCENARIOS.map((s) => s.name)).size).toBe(16);
});

describe.each(SCENARIOS)("$os with $runtime and $cni", (s) => {
  const e = () => evaluated.get(s.name)!;
  const command = (name: string) => e().commands.find((c) => c.name === name)!;

  test("every instance runs the OS's image for its architecture", () => {
    const images = Object.fromEntries(e().instances.map((i) => [i.name, i.inputs.ami]));
    const arm = expectedImage(s.os, "arm64");
    const x86 = expectedImage(s.os, "x86_64");
    expect(images).toEqual({
      ...Object.fromEntries([0, 1, 2].map((i) => [`${s.name}-nodes-cp-${i}`, arm])),
      ...Object.fromEntries([0, 1, 2].map((i) => [`${s.name}-nodes-worker-${i}`, x86])),
      // The bastion runs the nodes' OS (a t4g.micro: arm64).
      [`${s.name}-bastion`]: arm,
    });
    expect(arm).not.toBe(x86);
  });

  test("the images are found by the publisher's owner and name, or AWS's public parameter", () => {
    const x = EXPECTED[s.os];
    const amis = e().invokes.filter((i) => i.token === "aws:ec2/getAmi:getAmi");
    const parameters = e().invokes.filter((i) => i.token === "aws:ssm/getParameter:getParameter");
    if ("parameter" in x) {
      expect(amis).toEqual([]);
      expect(parameters.map((p) => p.args.name).sort()).toEqual([
        `/aws/service/ami-amazon-linux-latest/${x.parameter}arm64`,
        `/aws/service/ami-amazon-linux-latest/${x.parameter}x86_64`,
      ]);
    } else {
      expect(parameters).toEqual([]);
      // One lookup per architecture, shared by the nodes and the bastion.
      expect(amis).toHaveLength(2);
      for (const ami of amis) expect(ami.args.owners).toEqual([x.owner]);
    }
  });

  test("every remote command logs in as the OS's user, through a bastion with the same user", () => {
    const user = EXPECTED[s.os].user;
    expect([e().sshUser, e().bastionUser]).toEqual([user, user]);
    const logins = new Set(
      e().commands.flatMap((c) => [
        c.inputs.connection.user,
        ...(c.inputs.connection.proxy ? [c.inputs.connection.proxy.user] : []),
      ]),
    );
    expect(logins).toEqual(new Set([user]));
  });

  test("the steps that install packages use dnf", () => {
    const steps = [
      `${s.name}-bastion-wait-ready`,
      `${s.name}-bastion-tools`,
      ...["cp-0", "worker-2"].flatMap((n) => [
        `${s.name}-${n}-wait-ready`,
        `${s.name}-${n}-prepare`,
      ]),
    ];
    for (const step of steps) {
      expect({ step, pm: param(command(step).inputs.create, "PACKAGE_MANAGER") }).toEqual({
        step,
        pm: "dnf",
      });
    }
  });

  test("prepare sets SELinux and firewalld, with the ports of each role and the CNI", () => {
    for (const [node, role] of [
      ["cp-0", "control-plane"],
      ["cp-2", "control-plane"],
      ["worker-0", "worker"],
      ["worker-2", "worker"],
    ] as const) {
      const script = command(`${s.name}-${node}-prepare`).inputs.create as string;
      const ports = s.firewalld ? [...PORTS[role], ...CNI_PORTS[s.cni]] : [];
      expect({
        node,
        selinux: param(script, "SELINUX_MODE"),
        firewalld: param(script, "FIREWALLD_MODE"),
        ports: ((param(script, "FIREWALL_PORTS") as string[] | undefined) ?? []).sort(),
      }).toEqual({
        node,
        selinux: s.selinux ?? "permissive",
        firewalld: s.firewalld ?? "stopped",
        ports: ports.sort(),
      });
    }
  });

  test("the bastion's user data reloads sshd.service", () => {
    const bastion = e().instances.find((i) => i.name === `${s.name}-bastion`)!;
    expect(bastion.inputs.userData).toContain("systemctl reload sshd.service");
    expect(bastion.inputs.userData).not.toContain("ssh.service");
  });
});

test("an apt OS keeps apt, and prepare gets no SELinux or firewalld setting", async () => {
  const s = await (async () => {
    h.reset();
    const config = lib.validateClusterConfig({
      clusterName: "deb",
      sshIngressCidrs: ["203.0.113.10/32"],
      os: "debian-12",
    });
    const cluster = await lib.createKubeadmCluster(config, MOCK_CLUSTER_OPTIONS);
    await settle(cluster.kubeconfig, cluster.nodes);
    return h.byType("command:remote:Command");
  })();
  const prepare = s.find((c) => c.name === "deb-cp-0-prepare")!.inputs.create as string;
  expect(param(prepare, "PACKAGE_MANAGER")).toBe("apt");
  for (const name of ["SELINUX_MODE", "FIREWALLD_MODE", "FIREWALL_PORTS"]) {
    expect(param(prepare, name)).toBeUndefined();
  }
  const tools = s.find((c) => c.name === "deb-bastion-tools")!.inputs.create as string;
  expect(param(tools, "PACKAGE_MANAGER")).toBe("apt");
});

test("every step with dnf's library is rendered for every node, and a prepare with firewalld's ports passes shellcheck", async () => {
  // The steps that install packages carry lib-dnf.sh on these OSes. test/guest/lint.test.ts
  // shellchecks each of them rendered by the same functions; here shellcheck takes the program's
  // own prepare with the richest values (a port list, SELinux enforcing), with its libraries.
  let seen = 0;
  let prepare: string | undefined;
  for (const s of SCENARIOS) {
    for (const c of evaluated.get(s.name)!.commands) {
      const script = innerScript(String(c.inputs.create));
      if (param(script, "PACKAGE_MANAGER") !== "dnf") continue;
      seen++;
      const rich =
        param(script, "FIREWALLD_MODE") === "cluster-ports" &&
        param(script, "SELINUX_MODE") === "enforcing";
      if (param(script, "STEP") === "prepare" && rich) prepare ??= script;
    }
  }
  // Per cluster: the bastion's two steps, each node's wait-ready and prepare.
  expect(seen).toBe(16 * (2 + 6 * 2));
  expect(prepare).toBeDefined();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kubeadm-aws-rhel-lint-"));
  try {
    fs.writeFileSync(path.join(dir, "prepare.sh"), prepare!);
    await shellcheck([path.join(dir, "prepare.sh")]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);
