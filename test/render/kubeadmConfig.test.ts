import { parseAllDocuments } from "yaml";
import {
  DISCOVERY_FILE_PLACEHOLDER,
  CRI_SOCKETS,
  type ClusterConfiguration,
  type ClusterSettings,
  type InitConfiguration,
  type JoinConfiguration,
  type KubeadmApiVersion,
  kubeadmApiVersion,
  type KubeletConfiguration,
  type KubeProxyConfiguration,
  type NodeSettings,
  parseControlPlaneEndpoint,
  renderInitConfig,
  renderJoinConfig,
} from "../../render/kubeadmConfig";

const ENDPOINT_HOST = "api-0123456789.elb.us-east-1.amazonaws.com";

function cluster(overrides: Partial<ClusterSettings> = {}): ClusterSettings {
  return {
    kubernetesVersion: "1.34.2",
    clusterName: "demo",
    controlPlaneEndpoint: `${ENDPOINT_HOST}:6443`,
    certSANs: [],
    podSubnet: "10.244.0.0/16",
    serviceSubnet: "10.96.0.0/12",
    criSocket: CRI_SOCKETS.containerd,
    ...overrides,
  };
}

const CP0: NodeSettings = {
  nodeName: "ip-192-0-2-10.ec2.internal",
  advertiseAddress: "192.0.2.10",
};
const WORKER: NodeSettings = {
  nodeName: "ip-198-51-100-20.ec2.internal",
  advertiseAddress: "198.51.100.20",
};

type Doc = Record<string, unknown> & { kind: string; apiVersion: string };

/** Parses a YAML stream strictly: any parse error or warning fails the test. */
function parseDocs(text: string): Doc[] {
  return parseAllDocuments(text).map((doc) => {
    expect(doc.errors).toEqual([]);
    expect(doc.warnings).toEqual([]);
    return doc.toJS() as Doc;
  });
}

type AnyVersion = KubeadmApiVersion;
interface Kinds {
  InitConfiguration: InitConfiguration<AnyVersion>;
  ClusterConfiguration: ClusterConfiguration<AnyVersion>;
  JoinConfiguration: JoinConfiguration<AnyVersion>;
  KubeletConfiguration: KubeletConfiguration;
  KubeProxyConfiguration: KubeProxyConfiguration;
}

/** The one document of this kind, typed as the renderer's interface for it. */
function byKind<K extends keyof Kinds>(docs: Doc[], kind: K): Kinds[K] {
  const found = docs.filter((d) => d.kind === kind);
  expect(found).toHaveLength(1);
  return found[0] as unknown as Kinds[K];
}

describe("kubeadmApiVersion", () => {
  test.each([
    ["1.29.0", "kubeadm.k8s.io/v1beta3"],
    ["1.30.14", "kubeadm.k8s.io/v1beta3"],
    ["1.31.0", "kubeadm.k8s.io/v1beta4"],
    ["1.34.2", "kubeadm.k8s.io/v1beta4"],
    ["1.35.0", "kubeadm.k8s.io/v1beta4"],
  ])("maps Kubernetes %s to %s", (version, expected) => {
    expect(kubeadmApiVersion(version)).toBe(expected);
  });

  test("rejects Kubernetes older than 1.29 and names the oldest supported version", () => {
    expect(() => kubeadmApiVersion("1.28.15")).toThrow(/1\.28\.15 is not supported.*1\.29/);
    expect(() => kubeadmApiVersion("2.0.0")).toThrow(/not supported/);
  });

  test.each(["v1.34.2", "1.34", "1.34.2-rc.1", "", "latest"])(
    "rejects the malformed version %j",
    (version) => {
      expect(() => kubeadmApiVersion(version)).toThrow(/major\.minor\.patch without a leading "v"/);
    },
  );
});

describe("parseControlPlaneEndpoint", () => {
  test("splits host and port and lowercases the host", () => {
    expect(parseControlPlaneEndpoint("API-1.elb.us-east-1.amazonaws.com:6443")).toEqual({
      host: "api-1.elb.us-east-1.amazonaws.com",
      port: 6443,
    });
    expect(parseControlPlaneEndpoint("192.0.2.1:443")).toEqual({ host: "192.0.2.1", port: 443 });
  });

  test.each([ENDPOINT_HOST, `https://${ENDPOINT_HOST}:6443`, `${ENDPOINT_HOST}:70000`, ":6443"])(
    "rejects %j",
    (endpoint) => {
      expect(() => parseControlPlaneEndpoint(endpoint)).toThrow(/controlPlaneEndpoint must be/);
    },
  );
});

describe("renderInitConfig with v1beta4 (Kubernetes 1.34)", () => {
  const docs = parseDocs(renderInitConfig(cluster({ certSANs: ["api.example.com"] }), CP0));

  test("emits Init, Cluster, Kubelet and KubeProxy configuration in that order", () => {
    expect(docs.map((d) => [d.apiVersion, d.kind])).toEqual([
      ["kubeadm.k8s.io/v1beta4", "InitConfiguration"],
      ["kubeadm.k8s.io/v1beta4", "ClusterConfiguration"],
      ["kubelet.config.k8s.io/v1beta1", "KubeletConfiguration"],
      ["kubeproxy.config.k8s.io/v1alpha1", "KubeProxyConfiguration"],
    ]);
  });

  test("InitConfiguration carries this node's endpoint and no certificate key (nothing is uploaded)", () => {
    const init = byKind(docs, "InitConfiguration");
    expect(Object.keys(init).sort()).toEqual([
      "apiVersion",
      "kind",
      "localAPIEndpoint",
      "nodeRegistration",
    ]);
    expect(init.localAPIEndpoint).toEqual({ advertiseAddress: "192.0.2.10", bindPort: 6443 });
  });

  test("passes node-ip as a v1beta4 list of {name, value} and leaves taints to kubeadm", () => {
    const init = byKind(docs, "InitConfiguration");
    expect(init.nodeRegistration).toEqual({
      name: "ip-192-0-2-10.ec2.internal",
      criSocket: "unix:///run/containerd/containerd.sock",
      kubeletExtraArgs: [{ name: "node-ip", value: "192.0.2.10" }],
    });
  });

  test("does not emit bootstrap tokens: joins use credentials the program minted", () => {
    expect(byKind(docs, "InitConfiguration")).not.toHaveProperty("bootstrapTokens");
  });

  test("ClusterConfiguration points at the load balancer and puts its host in the SANs", () => {
    const config = byKind(docs, "ClusterConfiguration");
    expect(Object.keys(config).sort()).toEqual([
      "apiServer",
      "apiVersion",
      "clusterName",
      "controlPlaneEndpoint",
      "kind",
      "kubernetesVersion",
      "networking",
    ]);
    expect(config.kubernetesVersion).toBe("v1.34.2");
    expect(config.clusterName).toBe("demo");
    expect(config.controlPlaneEndpoint).toBe(`${ENDPOINT_HOST}:6443`);
    expect(config.apiServer).toEqual({ certSANs: [ENDPOINT_HOST, "api.example.com"] });
    expect(config.networking).toEqual({
      podSubnet: "10.244.0.0/16",
      serviceSubnet: "10.96.0.0/12",
      dnsDomain: "cluster.local",
    });
  });

  test("the kubelet uses the systemd cgroup driver and rotates its client certificate", () => {
    expect(byKind(docs, "KubeletConfiguration")).toEqual({
      apiVersion: "kubelet.config.k8s.io/v1beta1",
      kind: "KubeletConfiguration",
      cgroupDriver: "systemd",
      rotateCertificates: true,
    });
  });

  test("kube-proxy runs in iptables mode with the pod subnet as cluster CIDR", () => {
    expect(byKind(docs, "KubeProxyConfiguration")).toEqual({
      apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
      kind: "KubeProxyConfiguration",
      mode: "iptables",
      clusterCIDR: "10.244.0.0/16",
    });
  });
});

describe("renderInitConfig with v1beta3 (Kubernetes 1.30)", () => {
  const docs = parseDocs(renderInitConfig(cluster({ kubernetesVersion: "1.30.14" }), CP0));

  test("uses kubeadm.k8s.io/v1beta3 for both kubeadm documents", () => {
    expect(byKind(docs, "InitConfiguration").apiVersion).toBe("kubeadm.k8s.io/v1beta3");
    expect(byKind(docs, "ClusterConfiguration").apiVersion).toBe("kubeadm.k8s.io/v1beta3");
    expect(byKind(docs, "ClusterConfiguration").kubernetesVersion).toBe("v1.30.14");
  });

  test("passes node-ip as a v1beta3 string map", () => {
    expect(byKind(docs, "InitConfiguration").nodeRegistration.kubeletExtraArgs).toEqual({
      "node-ip": "192.0.2.10",
    });
  });
});

describe("API server SANs", () => {
  function sans(settings: Partial<ClusterSettings>): string[] {
    return byKind(parseDocs(renderInitConfig(cluster(settings), CP0)), "ClusterConfiguration")
      .apiServer.certSANs;
  }

  test("always include the endpoint host, even with no extra SANs", () => {
    expect(sans({ certSANs: [] })).toEqual([ENDPOINT_HOST]);
  });

  test("are lowercased and de-duplicated, endpoint host first", () => {
    expect(
      sans({
        controlPlaneEndpoint: `API-0123456789.elb.us-east-1.amazonaws.com:6443`,
        certSANs: [
          "Api.Example.com",
          ENDPOINT_HOST,
          "203.0.113.7",
          "api.example.com",
          "*.k8s.test",
        ],
      }),
    ).toEqual([ENDPOINT_HOST, "api.example.com", "203.0.113.7", "*.k8s.test"]);
  });

  test.each(["", "api example.com", "https://api.example.com", "-bad.example.com"])(
    "reject %j",
    (san) => {
      expect(() => sans({ certSANs: [san] })).toThrow(/certSANs entry .* is neither/);
    },
  );
});

describe("CRI sockets", () => {
  test.each(Object.entries(CRI_SOCKETS))(
    "%s socket %s reaches init and join node registration",
    (_runtime, socket) => {
      const settings = cluster({ criSocket: socket });
      const init = byKind(parseDocs(renderInitConfig(settings, CP0)), "InitConfiguration");
      const join = byKind(
        parseDocs(renderJoinConfig(settings, WORKER, "worker")),
        "JoinConfiguration",
      );
      expect(init.nodeRegistration.criSocket).toBe(socket);
      expect(join.nodeRegistration.criSocket).toBe(socket);
    },
  );

  test("rejects a socket that is not a unix:// endpoint", () => {
    expect(() =>
      renderInitConfig(cluster({ criSocket: "/run/containerd/containerd.sock" }), CP0),
    ).toThrow(/criSocket must be a unix:\/\/ endpoint/);
  });
});

describe("renderJoinConfig", () => {
  test.each([
    ["1.34.2", "kubeadm.k8s.io/v1beta4", [{ name: "node-ip", value: "192.0.2.11" }]],
    ["1.30.14", "kubeadm.k8s.io/v1beta3", { "node-ip": "192.0.2.11" }],
  ])("control-plane join for %s uses %s", (version, apiVersion, kubeletExtraArgs) => {
    const node = { nodeName: "ip-192-0-2-11.ec2.internal", advertiseAddress: "192.0.2.11" };
    const docs = parseDocs(
      renderJoinConfig(cluster({ kubernetesVersion: version }), node, "control-plane"),
    );
    expect(docs).toHaveLength(1);
    expect(docs[0]).toEqual({
      apiVersion,
      kind: "JoinConfiguration",
      discovery: { file: { kubeConfigPath: DISCOVERY_FILE_PLACEHOLDER } },
      nodeRegistration: {
        name: "ip-192-0-2-11.ec2.internal",
        criSocket: CRI_SOCKETS.containerd,
        kubeletExtraArgs,
      },
      controlPlane: {
        localAPIEndpoint: { advertiseAddress: "192.0.2.11", bindPort: 6443 },
      },
    });
  });

  test.each([
    ["1.34.2", [{ name: "node-ip", value: "198.51.100.20" }]],
    ["1.30.14", { "node-ip": "198.51.100.20" }],
  ])(
    "worker join for %s has no controlPlane, no token and no certificate key",
    (version, extraArgs) => {
      const text = renderJoinConfig(cluster({ kubernetesVersion: version }), WORKER, "worker");
      expect(text).not.toContain("certificateKey");
      expect(text).not.toContain("token");
      const join = byKind(parseDocs(text), "JoinConfiguration");
      expect(join).not.toHaveProperty("controlPlane");
      expect(join.discovery).toEqual({ file: { kubeConfigPath: DISCOVERY_FILE_PLACEHOLDER } });
      expect(join.nodeRegistration).toEqual({
        name: WORKER.nodeName,
        criSocket: CRI_SOCKETS.containerd,
        kubeletExtraArgs: extraArgs,
      });
    },
  );
});

describe("the discovery file placeholder", () => {
  test("is double-quoted, so any path the step fills in stays a YAML string", () => {
    const join = renderJoinConfig(cluster(), WORKER, "worker");
    expect(join).toContain(`kubeConfigPath: "${DISCOVERY_FILE_PLACEHOLDER}"`);
    const filled = join.replace(
      DISCOVERY_FILE_PLACEHOLDER,
      "/run/kubeadm-aws/join.x1/discovery.conf",
    );
    expect(byKind(parseDocs(filled), "JoinConfiguration").discovery.file.kubeConfigPath).toBe(
      "/run/kubeadm-aws/join.x1/discovery.conf",
    );
  });
});

describe("input validation", () => {
  test.each<[string, Partial<ClusterSettings>, RegExp]>([
    ["a pod subnet with host bits", { podSubnet: "10.244.0.1/16" }, /podSubnet .* host bits/],
    ["an IPv6 pod subnet", { podSubnet: "fd00::/64" }, /podSubnet must be an IPv4 CIDR/],
    ["a service subnet without prefix", { serviceSubnet: "10.96.0.0" }, /serviceSubnet must be/],
    ["an empty cluster name", { clusterName: "" }, /clusterName must be/],
  ])("rejects %s", (_what, settings, message) => {
    expect(() => renderInitConfig(cluster(settings), CP0)).toThrow(message);
    expect(() => renderJoinConfig(cluster(settings), WORKER, "worker")).toThrow(message);
  });

  // A join reads controlPlaneEndpoint from the cluster's kubeadm-config, not from its own file.
  test("init rejects an endpoint without port", () => {
    expect(() => renderInitConfig(cluster({ controlPlaneEndpoint: ENDPOINT_HOST }), CP0)).toThrow(
      /controlPlaneEndpoint/,
    );
  });

  test.each<[string, NodeSettings, RegExp]>([
    ["an upper-case node name", { ...CP0, nodeName: "IP-192-0-2-10" }, /nodeName must be/],
    ["a node name with a space", { ...CP0, nodeName: "cp 0" }, /nodeName must be/],
    ["a hostname as address", { ...CP0, advertiseAddress: "cp0.internal" }, /advertiseAddress/],
    ["an out-of-range address", { ...CP0, advertiseAddress: "192.0.2.256" }, /advertiseAddress/],
  ])("rejects a node with %s", (_what, node, message) => {
    expect(() => renderInitConfig(cluster(), node)).toThrow(message);
    expect(() => renderJoinConfig(cluster(), node, "control-plane")).toThrow(message);
  });
});

describe("exact text", () => {
  test("init config for Kubernetes 1.34 (v1beta4)", () => {
    expect(renderInitConfig(cluster({ certSANs: ["203.0.113.7"] }), CP0)).toBe(
      [
        "apiVersion: kubeadm.k8s.io/v1beta4",
        "kind: InitConfiguration",
        "localAPIEndpoint:",
        "  advertiseAddress: 192.0.2.10",
        "  bindPort: 6443",
        "nodeRegistration:",
        "  name: ip-192-0-2-10.ec2.internal",
        "  criSocket: unix:///run/containerd/containerd.sock",
        "  kubeletExtraArgs:",
        "    - name: node-ip",
        "      value: 192.0.2.10",
        "---",
        "apiVersion: kubeadm.k8s.io/v1beta4",
        "kind: ClusterConfiguration",
        "kubernetesVersion: v1.34.2",
        "clusterName: demo",
        `controlPlaneEndpoint: ${ENDPOINT_HOST}:6443`,
        "apiServer:",
        "  certSANs:",
        `    - ${ENDPOINT_HOST}`,
        "    - 203.0.113.7",
        "networking:",
        "  podSubnet: 10.244.0.0/16",
        "  serviceSubnet: 10.96.0.0/12",
        "  dnsDomain: cluster.local",
        "---",
        "apiVersion: kubelet.config.k8s.io/v1beta1",
        "kind: KubeletConfiguration",
        "cgroupDriver: systemd",
        "rotateCertificates: true",
        "---",
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1",
        "kind: KubeProxyConfiguration",
        "mode: iptables",
        "clusterCIDR: 10.244.0.0/16",
        "",
      ].join("\n"),
    );
  });

  test("control-plane join config for Kubernetes 1.30 (v1beta3)", () => {
    expect(
      renderJoinConfig(
        cluster({ kubernetesVersion: "1.30.14", criSocket: CRI_SOCKETS["cri-dockerd"] }),
        CP0,
        "control-plane",
      ),
    ).toBe(
      [
        "apiVersion: kubeadm.k8s.io/v1beta3",
        "kind: JoinConfiguration",
        "discovery:",
        "  file:",
        '    kubeConfigPath: "__DISCOVERY_FILE__"',
        "nodeRegistration:",
        "  name: ip-192-0-2-10.ec2.internal",
        "  criSocket: unix:///run/cri-dockerd.sock",
        "  kubeletExtraArgs:",
        "    node-ip: 192.0.2.10",
        "controlPlane:",
        "  localAPIEndpoint:",
        "    advertiseAddress: 192.0.2.10",
        "    bindPort: 6443",
        "",
      ].join("\n"),
    );
  });
});

describe("the external cloud provider", () => {
  test.each(["1.30.6", "1.34.2"])(
    "is a kubelet argument in init and every join (%s), and absent without it",
    (kubernetesVersion) => {
      const on = cluster({ kubernetesVersion, externalCloudProvider: true });
      const docs = [
        byKind(parseDocs(renderInitConfig(on, CP0)), "InitConfiguration"),
        byKind(parseDocs(renderJoinConfig(on, CP0, "control-plane")), "JoinConfiguration"),
        byKind(parseDocs(renderJoinConfig(on, WORKER, "worker")), "JoinConfiguration"),
      ];
      for (const doc of docs) {
        const args = doc.nodeRegistration.kubeletExtraArgs as unknown;
        // v1beta4 lists name/value pairs; v1beta3 is a map.
        const asMap = Array.isArray(args)
          ? Object.fromEntries(args.map((a: { name: string; value: string }) => [a.name, a.value]))
          : (args as Record<string, string>);
        expect(asMap["cloud-provider"]).toBe("external");
      }
      const off = renderJoinConfig(cluster({ kubernetesVersion }), WORKER, "worker");
      expect(off).not.toContain("cloud-provider");
    },
  );
});
