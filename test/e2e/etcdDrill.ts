/**
 * The failure drill's last case on a real cluster (docs/failure-drill.md): a namespace exists, a
 * snapshot is taken now (the etcd leader uploads it to the backup bucket), the namespace is
 * deleted, etcd is restored from that snapshot on every control plane (through the bastion, the
 * same code as `npm run etcd-restore`), and the namespace is there again.
 */
import type { OutputMap } from "@pulumi/pulumi/automation";
import { s3SnapshotStore } from "../../cloud/etcdSnapshots";
import { restoreEtcd, snapshotNow } from "../../tools/etcdRestore";
import { clusterOutputs } from "../../tools/etcdTools";
import { bastionShell } from "../../tools/nodeShell";
import { Kubectl, waitUntil } from "./kube";

const NS = "e2e-drill";

export async function drillNamespaceRestore(
  stackName: string,
  outputs: OutputMap,
  kubectl: Kubectl,
  log: (message: string) => void,
): Promise<void> {
  const cluster = clusterOutputs(stackName, outputs);
  expect(cluster.etcdBackup?.bucket).toMatch(/-etcd-/);
  const store = s3SnapshotStore(cluster.etcdBackup!.region);
  const shell = await bastionShell({
    bastionHost: cluster.bastionIp,
    bastionUser: cluster.bastionUser,
    nodeUser: cluster.sshUser,
    privateKey: cluster.sshPrivateKey,
  });
  try {
    await kubectl.apply([{ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } }]);
    const key = await snapshotNow({ stack: stackName, outputs: cluster, log }, store, shell);
    await kubectl.run(["delete", "namespace", NS, "--wait=true", "--timeout=180s"], {
      timeoutMs: 200_000,
      longRunning: true,
    });
    expect(await kubectl.run(["get", "namespace", NS, "--ignore-not-found", "-o", "name"])).toBe(
      "",
    );
    const restored = await restoreEtcd(
      { stack: stackName, outputs: cluster, snapshot: key, log },
      store,
      shell,
    );
    expect(restored.key).toBe(key);
    await waitUntil(
      `namespace ${NS} to be back after the restore`,
      async () =>
        (await kubectl.run(["get", "namespace", NS, "--ignore-not-found", "-o", "name"])).trim() ===
        `namespace/${NS}`,
      { timeoutMs: 10 * 60_000 },
    );
  } finally {
    shell.close();
  }
}
