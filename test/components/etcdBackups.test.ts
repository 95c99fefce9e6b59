/**
 * etcd backups under mocks, 3 + 3: the bucket is encrypted, versioned, public-access-blocked,
 * TLS-only and expires snapshots after retentionDays; it outlives a destroy unless
 * deleteOnDestroy; the control planes may only PutObject under the cluster's prefix; every
 * control plane installs the snapshot and renewal timers after its join, at the configured
 * interval and bucket; the stack outputs say where the snapshots are.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ClusterConfigInput } from "../../config/clusterConfig";
import {
  Harness,
  installMocks,
  MOCK_CLUSTER_OPTIONS,
  RecordedResource,
  settle,
  valueOf,
} from "../../tools/mockCloud";
import { EngineGraph } from "../support/engineGraph";

let h: Harness;
let lib: typeof import("../../components");

beforeAll(async () => {
  h = await installMocks();
  lib = await import("../../components");
});

async function build(name: string, input: ClusterConfigInput = {}) {
  h.reset();
  h.setPreviousOutputs({});
  pulumi.runtime.setAllConfig({});
  const config = lib.validateClusterConfig({
    clusterName: name,
    sshIngressCidrs: ["203.0.113.10/32"],
    controlPlane: { count: 3 },
    workers: { count: 3 },
    ...input,
  });
  const cluster = await lib.createKubeadmCluster(config, MOCK_CLUSTER_OPTIONS);
  await settle(cluster.kubeconfig, cluster.nodes);
  return { cluster, resources: [...h.resources] };
}

const one = (rs: RecordedResource[], type: string) => {
  const found = rs.filter((r) => r.type === type);
  expect(found).toHaveLength(1);
  return found[0]!;
};

describe("with the defaults", () => {
  let rs: RecordedResource[];
  let cluster: Awaited<ReturnType<typeof build>>["cluster"];
  beforeAll(async () => ({ cluster, resources: rs } = await build("bk")));

  test("the bucket is encrypted, versioned, public-access-blocked, TLS-only, with lifecycle expiry", () => {
    const bucket = one(rs, "aws:s3/bucket:Bucket");
    expect(bucket.inputs.bucketPrefix).toBe("bk-etcd-");
    expect(bucket.inputs.forceDestroy).toBe(false);
    const id = `${bucket.name}-id`;
    const sse = one(
      rs,
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    );
    expect(sse.inputs).toMatchObject({
      bucket: id,
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
    });
    expect(one(rs, "aws:s3/bucketVersioning:BucketVersioning").inputs).toMatchObject({
      bucket: id,
      versioningConfiguration: { status: "Enabled" },
    });
    expect(one(rs, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs).toEqual({
      bucket: id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    const rules = one(rs, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs
      .rules;
    expect(rules).toEqual([
      expect.objectContaining({
        status: "Enabled",
        filter: { prefix: "bk/etcd/" },
        expiration: { days: 14 },
        noncurrentVersionExpiration: { noncurrentDays: 14 },
      }),
    ]);
    const policy = JSON.parse(one(rs, "aws:s3/bucketPolicy:BucketPolicy").inputs.policy);
    expect(policy.Statement).toEqual([
      expect.objectContaining({
        Effect: "Deny",
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      }),
    ]);
  });

  test("the bucket and its protection outlive a destroy (retainOnDelete)", () => {
    const s3 = rs.filter((r) => r.type.startsWith("aws:s3/"));
    expect(s3).toHaveLength(6);
    // As the SDK sends it with the registration (the mock records the request's flag).
    for (const r of s3) expect(r.retainOnDelete).toBe(true);
  });

  test("the control planes may only write snapshots, under the cluster's prefix of that bucket", () => {
    const bucket = one(rs, "aws:s3/bucket:Bucket");
    const write = rs.find((r) => r.name === "bk-etcd-backups-write")!;
    expect(write.inputs.role).toBe("bk-controlPlane");
    expect(JSON.parse(write.inputs.policy)).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "WriteEtcdSnapshots",
          Effect: "Allow",
          Action: ["s3:PutObject"],
          Resource: `${bucket.outputs.arn}/bk/etcd/*`,
        },
      ],
    });
    // Workers and the bastion get nothing of it.
    const others = rs.filter(
      (r) => r.type === "aws:iam/rolePolicy:RolePolicy" && r.inputs.role !== "bk-controlPlane",
    );
    expect(others).toEqual([]);
  });

  test("every control plane installs both timers after its join, with the bucket and interval", () => {
    const graph = new EngineGraph(rs);
    const bucket = one(rs, "aws:s3/bucket:Bucket").outputs.bucket;
    for (const i of [0, 1, 2]) {
      const step = rs.find((r) => r.name === `bk-cp-${i}-timers`)!;
      const join = rs.find((r) => r.name === `bk-cp-${i}-join`)!;
      expect(graph.transitiveDependencies(step).has(join.urn)).toBe(true);
      const script = String(step.inputs.create);
      expect(script).toContain("readonly BACKUPS=true");
      expect(script).toContain(`readonly BUCKET=${bucket}`);
      expect(script).toContain("OnUnitActiveSec=15min");
      expect(script).toContain("OnCalendar=daily");
      expect(step.inputs.triggers).toHaveLength(2);
    }
    expect(rs.some((r) => r.name.startsWith("bk-worker") && r.name.endsWith("-timers"))).toBe(
      false,
    );
    const ready = rs.find((r) => r.name === "bk-cluster-ready")!;
    expect(String(ready.inputs.create)).toContain("readonly BACKUP_INTERVAL_MINUTES=15");
  });

  test("the outputs say where the snapshots are", async () => {
    expect(cluster.etcdBackup?.prefix).toBe("bk/etcd/");
    expect(await valueOf(cluster.etcdBackup!.bucket)).toMatch(/^bk-etcd-\d{26}$/);
    // The drift report compares the last snapshot's age with twice the interval.
    expect(cluster.etcdBackup?.intervalMinutes).toBe(15);
  });
});

test("deleteOnDestroy lets a destroy empty and delete the bucket", async () => {
  const { resources } = await build("bd", { etcdBackup: { deleteOnDestroy: true } });
  expect(one(resources, "aws:s3/bucket:Bucket").inputs.forceDestroy).toBe(true);
  for (const r of resources.filter((x) => x.type.startsWith("aws:s3/"))) {
    expect(r.retainOnDelete).toBe(false);
  }
});

test("with backups off: no bucket, no write permission, the renewal timer still installed", async () => {
  const { resources, cluster } = await build("bo", { etcdBackup: { enabled: false } });
  expect(resources.filter((r) => r.type.startsWith("aws:s3/"))).toEqual([]);
  expect(resources.some((r) => r.name === "bo-etcd-backups-write")).toBe(false);
  const step = resources.find((r) => r.name === "bo-cp-0-timers")!;
  expect(String(step.inputs.create)).toContain("readonly BACKUPS=false");
  expect(cluster.etcdBackup).toBeUndefined();
});
