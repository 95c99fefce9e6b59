/**
 * The ports firewalld opens on a RHEL-family node with `firewalld: cluster-ports`: derived from
 * the security-group matrix of its role (so the host never blocks what the groups let in), plus
 * the NodePort range and the kubeadm reference's control-plane ports.
 */
import {
  hostFirewallPorts,
  RuleSpecArgs,
  securityGroupRuleSpecs,
} from "../../config/firewallRules";

const args = (over: Partial<RuleSpecArgs> = {}): RuleSpecArgs => ({
  cni: "flannel",
  publicApi: true,
  sshIngressCidrs: ["203.0.113.10/32"],
  apiIngressCidrs: ["203.0.113.10/32"],
  nodePortIngressCidrs: [],
  ...over,
});

test.each([
  [
    "control-plane",
    "flannel",
    [
      "22/tcp",
      "2379-2380/tcp",
      "6443/tcp",
      "10250/tcp",
      "10256/tcp",
      "10257/tcp",
      "10259/tcp",
      "30000-32767/tcp",
      "8472/udp",
    ],
  ],
  [
    "control-plane",
    "calico",
    [
      "22/tcp",
      "2379-2380/tcp",
      "5473/tcp",
      "6443/tcp",
      "10250/tcp",
      "10256/tcp",
      "10257/tcp",
      "10259/tcp",
      "30000-32767/tcp",
      "4789/udp",
    ],
  ],
  ["worker", "flannel", ["22/tcp", "10250/tcp", "10256/tcp", "30000-32767/tcp", "8472/udp"]],
  [
    "worker",
    "calico",
    ["22/tcp", "5473/tcp", "10250/tcp", "10256/tcp", "30000-32767/tcp", "4789/udp"],
  ],
] as const)("a %s with %s opens %j", (role, cni, ports) => {
  expect(hostFirewallPorts(role, args({ cni }))).toEqual(ports);
});

test("the ports do not depend on who may reach them (the security groups decide that)", () => {
  for (const role of ["control-plane", "worker"] as const) {
    const base = hostFirewallPorts(role, args());
    expect(
      hostFirewallPorts(
        role,
        args({
          publicApi: false,
          nodePortIngressCidrs: ["198.51.100.0/24", "192.0.2.0/24"],
          sshIngressCidrs: ["198.51.100.7/32", "198.51.100.8/32"],
        }),
      ),
    ).toEqual(base);
  }
});

test("every TCP or UDP port a role's security groups admit is open on its hosts", () => {
  const a = args({ cni: "calico", nodePortIngressCidrs: ["198.51.100.0/24"] });
  const specs = securityGroupRuleSpecs(a).filter(
    (r) => r.direction === "ingress" && (r.protocol === "tcp" || r.protocol === "udp"),
  );
  const word = (r: (typeof specs)[number]) =>
    `${r.fromPort === r.toPort ? r.fromPort : `${r.fromPort}-${r.toPort}`}/${r.protocol}`;
  const cp = hostFirewallPorts("control-plane", a);
  const worker = hostFirewallPorts("worker", a);
  for (const r of specs.filter((s) => s.group === "controlPlane" || s.group === "nodes")) {
    expect(cp).toContain(word(r));
  }
  for (const r of specs.filter((s) => s.group === "nodes")) expect(worker).toContain(word(r));
  // etcd and the API server are the control planes' only.
  expect(worker).not.toContain("2379-2380/tcp");
  expect(worker).not.toContain("6443/tcp");
});
