import { parseAllDocuments } from "yaml";
import {
  type CalicoAPIServer,
  type CalicoInstallation,
  renderCalicoResources,
} from "../../render/cniConfig";

/** Parses the stream strictly: any parse error or warning fails the test. */
function parseResources(text: string): [CalicoInstallation, CalicoAPIServer] {
  const docs = parseAllDocuments(text).map((doc) => {
    expect(doc.errors).toEqual([]);
    expect(doc.warnings).toEqual([]);
    return doc.toJS() as unknown;
  });
  expect(docs).toHaveLength(2);
  return docs as [CalicoInstallation, CalicoAPIServer];
}

describe("renderCalicoResources", () => {
  const [installation, apiServer] = parseResources(
    renderCalicoResources({ podCidr: "10.244.0.0/16" }),
  );

  test("emits the operator's default Installation and APIServer", () => {
    expect([installation.apiVersion, installation.kind, installation.metadata]).toEqual([
      "operator.tigera.io/v1",
      "Installation",
      { name: "default" },
    ]);
    expect(apiServer).toEqual({
      apiVersion: "operator.tigera.io/v1",
      kind: "APIServer",
      metadata: { name: "default" },
      spec: {},
    });
  });

  test("one VXLAN pool on the pod CIDR with NAT for egress and the default /26 blocks", () => {
    expect(installation.spec.calicoNetwork.ipPools).toEqual([
      {
        name: "default-ipv4-ippool",
        cidr: "10.244.0.0/16",
        encapsulation: "VXLAN",
        natOutgoing: "Enabled",
        nodeSelector: "all()",
        blockSize: 26,
      },
    ]);
  });

  test("turns BGP off, so only UDP 4789 is needed between nodes", () => {
    expect(installation.spec.calicoNetwork.bgp).toBe("Disabled");
  });

  test("takes the node address from the Node's InternalIP, not an interface name", () => {
    expect(installation.spec.calicoNetwork.nodeAddressAutodetectionV4).toEqual({
      kubernetes: "NodeInternalIP",
    });
  });

  test("uses the given block size", () => {
    const [custom] = parseResources(
      renderCalicoResources({ podCidr: "192.168.0.0/16", blockSize: 24 }),
    );
    expect(custom.spec.calicoNetwork.ipPools[0]).toMatchObject({
      cidr: "192.168.0.0/16",
      blockSize: 24,
    });
  });

  test("accepts a pool exactly one block large", () => {
    const [custom] = parseResources(renderCalicoResources({ podCidr: "10.0.0.0/26" }));
    expect(custom.spec.calicoNetwork.ipPools[0]?.blockSize).toBe(26);
  });

  test.each([
    ["fd00:10:244::/56", /must be an IPv4 CIDR/],
    ["10.244.0.0", /must be an IPv4 CIDR/],
    ["10.244.0.0/33", /must be an IPv4 CIDR/],
    ["10.244.1.0/16", /host bits set; the network is 10\.244\.0\.0\/16/],
  ])("rejects the pod CIDR %j", (podCidr, message) => {
    expect(() => renderCalicoResources({ podCidr })).toThrow(message);
  });

  test.each([19, 33, 25.5])("rejects the block size %d", (blockSize) => {
    expect(() => renderCalicoResources({ podCidr: "10.244.0.0/16", blockSize })).toThrow(
      /block size must be an integer from 20 to 32/,
    );
  });

  test("rejects a pool smaller than one block", () => {
    expect(() => renderCalicoResources({ podCidr: "10.244.0.0/27" })).toThrow(
      /10\.244\.0\.0\/27 is smaller than one \/26 block/,
    );
  });
});
