/**
 * The credentials the program issues, with real keys and certificates (openssl in the mock:
 * tools/mockCertificates.ts), parsed here with Node's X509Certificate: the admin kubeconfig's
 * client certificate (group, usage, lifetime), each node's join certificate, and the renewal
 * of the admin certificate by the deployment record's generation.
 */
import { X509Certificate } from "crypto";
import { parse } from "yaml";
import {
  Harness,
  installMocks,
  MOCK_CLUSTER_OPTIONS,
  settle,
  valueOf,
} from "../../tools/mockCloud";
import { bundleEntries } from "../support/bundles";

let h: Harness;
let lib: typeof import("../../components");

const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const DAY_MS = 24 * 3600 * 1000;
const NOW = new Date("2026-12-04T03:00:00Z");

async function build(input: Parameters<typeof lib.validateClusterConfig>[0] = {}) {
  h.reset();
  const config = lib.validateClusterConfig({
    clusterName: "creds",
    sshIngressCidrs: ["203.0.113.10/32"],
    controlPlane: { count: 3 },
    workers: { count: 3 },
    availabilityZoneCount: 3,
    ...input,
  });
  const cluster = await lib.createKubeadmCluster(config, {
    ...MOCK_CLUSTER_OPTIONS,
    now: () => NOW,
  });
  await settle(cluster.kubeconfig, cluster.nodes);
  return cluster;
}

/** The client certificate and the CA of a kubeconfig, parsed. */
function credentialsOf(kubeconfig: string) {
  const doc = parse(kubeconfig);
  const pem = (b64: string) => Buffer.from(b64, "base64").toString("utf8");
  return {
    doc,
    cert: new X509Certificate(pem(doc.users[0].user["client-certificate-data"])),
    ca: new X509Certificate(pem(doc.clusters[0].cluster["certificate-authority-data"])),
  };
}

const subjectField = (cert: X509Certificate, field: string) =>
  cert.subject
    .split("\n")
    .filter((line) => line.startsWith(`${field}=`))
    .map((line) => line.slice(field.length + 1));

beforeAll(async () => {
  h = await installMocks("dev", { realCertificates: true });
  lib = await import("../../components");
});

describe("the admin kubeconfig", () => {
  let kubeconfig: string;
  beforeAll(async () => {
    const cluster = await build({ adminKubeconfig: { validityDays: 200 } });
    kubeconfig = await valueOf(cluster.kubeconfig);
  });

  test("parses, with one cluster, one user and its context current", () => {
    const { doc } = credentialsOf(kubeconfig);
    expect(doc.kind).toBe("Config");
    expect(doc["current-context"]).toBe(doc.contexts[0].name);
    expect(doc.contexts[0].context).toEqual({ cluster: "creds", user: "kubernetes-admin" });
  });

  test("its certificate is in kubeadm:cluster-admins, not system:masters, signed by the cluster CA", () => {
    const { cert, ca } = credentialsOf(kubeconfig);
    expect(subjectField(cert, "O")).toEqual(["kubeadm:cluster-admins"]);
    expect(subjectField(cert, "CN")).toEqual(["kubernetes-admin"]);
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.ca).toBe(false);
  });

  test("it is valid for client authentication only", () => {
    const { cert } = credentialsOf(kubeconfig);
    expect(cert.keyUsage).toEqual([CLIENT_AUTH]);
  });

  test("it lives as long as adminKubeconfig.validityDays says", () => {
    const { cert } = credentialsOf(kubeconfig);
    const lifetime = Date.parse(cert.validTo) - Date.parse(cert.validFrom);
    expect(lifetime / DAY_MS).toBe(200);
  });
});

test("each node's join certificate is system:node:<its name> in system:nodes, client auth only", async () => {
  const cluster = await build();
  const nodes = await valueOf(cluster.nodes);
  expect(nodes).toHaveLength(6);
  for (const node of nodes) {
    const bundle = h.byName(`${node.name}-join`).inputs.stdin as string;
    const { cert, ca, doc } = credentialsOf(bundleEntries(bundle)["discovery.conf"]!);
    expect(subjectField(cert, "CN")).toEqual([`system:node:${node.nodeName}`]);
    expect(subjectField(cert, "O")).toEqual(["system:nodes"]);
    expect(cert.keyUsage).toEqual([CLIENT_AUTH]);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(doc.users[0].name).toBe(`system:node:${node.nodeName}`);
  }
  // A control plane's CA files are the ones its discovery file trusts.
  const cp1 = bundleEntries(h.byName("creds-cp-1-join").inputs.stdin as string);
  expect(new X509Certificate(cp1["pki/ca.crt"]!).fingerprint256).toBe(
    credentialsOf(cp1["discovery.conf"]!).ca.fingerprint256,
  );
});

describe("renewal by the deployment record", () => {
  const previousRecord = async (issuedDaysAgo: number) => {
    const cluster = await build();
    const record = JSON.parse(JSON.stringify(cluster.deploymentRecord));
    record.adminCredential.issuedAt = new Date(
      NOW.getTime() - issuedDaysAgo * DAY_MS,
    ).toISOString();
    return record;
  };
  const adminSerial = () =>
    h.find("tls:index/certRequest:CertRequest", "creds-admin").inputs.subject.serialNumber;

  afterEach(() => h.setPreviousOutputs({}));

  test("a first deployment issues generation 1 and records when", async () => {
    const cluster = await build();
    expect(cluster.deploymentRecord.adminCredential).toEqual({
      generation: 1,
      issuedAt: NOW.toISOString(),
      validityDays: 365,
    });
    expect(cluster.kubeconfigExpiry).toBe(new Date(NOW.getTime() + 365 * DAY_MS).toISOString());
    expect(adminSerial()).toBe("1");
  });

  test("an up outside the renewal window keeps the certificate", async () => {
    const record = await previousRecord(100);
    h.setPreviousOutputs({ deploymentRecord: record });
    const cluster = await build();
    expect(adminSerial()).toBe("1");
    expect(cluster.deploymentRecord.adminCredential).toEqual(record.adminCredential);
  });

  test("an up in the last renewBeforeDays issues a fresh one (a new generation in the subject)", async () => {
    h.setPreviousOutputs({ deploymentRecord: await previousRecord(340) });
    const cluster = await build();
    expect(adminSerial()).toBe("2");
    expect(
      h.find("tls:index/certRequest:CertRequest", "creds-operations").inputs.subject.serialNumber,
    ).toBe("2");
    expect(cluster.deploymentRecord.adminCredential).toMatchObject({
      generation: 2,
      issuedAt: NOW.toISOString(),
    });
    const { cert } = credentialsOf(await valueOf(cluster.kubeconfig));
    expect(Date.parse(cert.validTo) - Date.now()).toBeGreaterThan(364 * DAY_MS);
  });
});
