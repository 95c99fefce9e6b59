/**
 * `npm run etcd-restore -- --stack S [--snapshot KEY]` and `npm run etcd-snapshot -- --stack S`:
 * the restore of the cluster's etcd from a snapshot in its backup bucket, and a snapshot taken
 * now, both from the stack's outputs (the bucket, the control planes, the bastion, the SSH key),
 * through the bastion. The S3 reads use the operator's own AWS credentials: the control planes
 * may only write snapshots.
 *
 * The restore, as etcd's recovery guide has it for a multi-member cluster:
 *   1. fetch the snapshot (the newest, or KEY) and check its sha256 against the one recorded at
 *      upload: a snapshot that fails is refused before any node is touched;
 *   2. copy it to every control plane;
 *   3. `etcd-restore MODE=stop` on every control plane (no API server writes any more);
 *   4. `MODE=restore` on every control plane: each checks the snapshot again (sha256 and
 *      `etcdutl snapshot status`) and restores a member of one new cluster of all of them;
 *   5. `MODE=start` on every control plane: etcd, then the API server, back.
 * Every round can be run again (guest/etcd-restore.sh): a restore that stopped half way is
 * finished by running the same command again.
 */
import { createHash, randomBytes } from "crypto";
import { remoteInvocation } from "../render/script";
import { renderEtcdRestore } from "../render/steps";

/** The stack outputs the tools read (index.ts exports them). */
export interface ClusterOutputs {
  readonly etcdBackup?: {
    readonly bucket: string;
    readonly prefix: string;
    readonly region: string;
  };
  readonly nodes: readonly {
    readonly name: string;
    readonly role: string;
    readonly privateIp: string;
    readonly nodeName: string;
  }[];
  readonly bastionIp: string;
  readonly bastionUser: string;
  readonly sshUser: string;
  readonly sshPrivateKey: string;
}

/** The backup bucket, as the tools read it (cloud/etcdSnapshots.ts on S3). */
export interface SnapshotStore {
  /** Every key under the prefix. */
  keys(bucket: string, prefix: string): Promise<string[]>;
  /** The object, with the sha256 recorded in its metadata at upload. */
  fetch(bucket: string, key: string): Promise<{ body: Buffer; sha256?: string }>;
}

/** A shell on a node through the bastion (tools/nodeShell.ts on ssh2). */
export interface NodeShell {
  run(host: string, command: string, stdin?: Buffer): Promise<{ code: number; output: string }>;
}

export class RestoreError extends Error {}

const SNAPSHOT_ON_NODE = "/var/lib/kubeadm-aws/restore/snapshot.db";
const WAIT_SECONDS = 300;

const controlPlanesOf = (o: ClusterOutputs) => o.nodes.filter((n) => n.role === "control-plane");

function backupOf(o: ClusterOutputs, stack: string) {
  if (!o.etcdBackup) {
    throw new RestoreError(
      `stack ${stack} has no etcdBackup output: its backups are off (etcdBackup.enabled false), or it was deployed before they existed`,
    );
  }
  return o.etcdBackup;
}

/** The newest snapshot's key: keys start with the snapshot's UTC time, so they sort by age. */
export function newestKey(keys: readonly string[]): string | undefined {
  return [...keys]
    .filter((k) => k.endsWith(".db"))
    .sort()
    .pop();
}

async function runOrFail(
  shell: NodeShell,
  host: string,
  what: string,
  command: string,
  log: (line: string) => void,
  stdin?: Buffer,
): Promise<void> {
  const r = await shell.run(host, command, stdin);
  for (const line of r.output.split("\n").filter(Boolean)) log(`  ${host}: ${line}`);
  if (r.code !== 0) {
    throw new RestoreError(
      `${what} failed on ${host} (exit ${r.code}); its output is above. Fix the cause and run the same command again: every round can run twice`,
    );
  }
}

export interface RestoreOptions {
  readonly stack: string;
  readonly outputs: ClusterOutputs;
  /** A key in the bucket; the newest snapshot without it. */
  readonly snapshot?: string;
  readonly log: (line: string) => void;
}

export async function restoreEtcd(
  o: RestoreOptions,
  store: SnapshotStore,
  shell: NodeShell,
): Promise<{ key: string; sha256: string }> {
  const backup = backupOf(o.outputs, o.stack);
  const key = o.snapshot ?? newestKey(await store.keys(backup.bucket, backup.prefix));
  if (!key) {
    throw new RestoreError(
      `no snapshot under s3://${backup.bucket}/${backup.prefix}: the control planes take one every interval once they run; take one now with \`npm run etcd-snapshot -- --stack ${o.stack}\``,
    );
  }
  o.log(`fetching s3://${backup.bucket}/${key}`);
  const { body, sha256 } = await store.fetch(backup.bucket, key);
  const actual = createHash("sha256").update(body).digest("hex");
  if (!sha256) {
    throw new RestoreError(
      `refusing ${key}: it has no sha256 in its metadata, so it was not written by this cluster's snapshot job`,
    );
  }
  if (actual !== sha256) {
    throw new RestoreError(
      `refusing ${key}: its sha256 is ${actual}, but ${sha256} was recorded when it was taken; nothing was changed. Pick another with --snapshot KEY`,
    );
  }
  const cps = controlPlanesOf(o.outputs);
  if (cps.length === 0)
    throw new RestoreError(`stack ${o.stack} has no control planes in its outputs`);
  const initialCluster = cps.map((n) => `${n.nodeName}=https://${n.privateIp}:2380`).join(",");
  const token = `kubeadm-aws-restore-${randomBytes(4).toString("hex")}`;
  const script = (mode: "stop" | "restore" | "start", n: (typeof cps)[number]) =>
    remoteInvocation(
      "etcd-restore",
      renderEtcdRestore({
        mode,
        snapshotPath: SNAPSHOT_ON_NODE,
        snapshotSha256: sha256,
        nodeName: n.nodeName,
        nodeIp: n.privateIp,
        initialCluster,
        clusterToken: token,
        waitTimeoutSeconds: WAIT_SECONDS,
      }),
      `${mode}`,
    );

  o.log(`snapshot ${key} checked (sha256 ${sha256}); copying it to ${cps.length} control plane(s)`);
  for (const n of cps) {
    await runOrFail(
      shell,
      n.privateIp,
      "copying the snapshot",
      `sudo -n install -d -m 0700 /var/lib/kubeadm-aws/restore && sudo -n tee ${SNAPSHOT_ON_NODE} >/dev/null && sudo -n chmod 0600 ${SNAPSHOT_ON_NODE}`,
      o.log,
      body,
    );
  }
  for (const mode of ["stop", "restore", "start"] as const) {
    o.log(`${mode}: every control plane`);
    for (const n of cps)
      await runOrFail(shell, n.privateIp, `etcd-restore ${mode}`, script(mode, n), o.log);
  }
  o.log(`etcd restored from ${key} on ${cps.map((n) => n.name).join(", ")}`);
  return { key, sha256 };
}

/**
 * A snapshot now: starts the snapshot unit on every control plane (the etcd leader's uploads,
 * the others find they are not the leader), then returns the newest key.
 */
export async function snapshotNow(
  o: { stack: string; outputs: ClusterOutputs; log: (line: string) => void },
  store: SnapshotStore,
  shell: NodeShell,
): Promise<string> {
  const backup = backupOf(o.outputs, o.stack);
  const before = new Set(await store.keys(backup.bucket, backup.prefix));
  for (const n of controlPlanesOf(o.outputs)) {
    await runOrFail(
      shell,
      n.privateIp,
      "the etcd snapshot",
      "sudo -n systemctl start kubeadm-aws-etcd-snapshot.service && sudo -n journalctl -u kubeadm-aws-etcd-snapshot.service -n 3 --no-pager -o cat",
      o.log,
    );
  }
  const added = (await store.keys(backup.bucket, backup.prefix)).filter((k) => !before.has(k));
  const key = newestKey(added);
  if (!key) throw new RestoreError("no control plane uploaded a snapshot: see their output above");
  o.log(`snapshot s3://${backup.bucket}/${key}`);
  return key;
}
