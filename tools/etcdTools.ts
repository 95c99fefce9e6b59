/**
 * The deploy wrapper's `etcd-snapshot` and `etcd-restore` on a stack's outputs: the outputs as
 * tools/etcdRestore.ts reads them, S3 with the caller's credentials (cloud/etcdSnapshots.ts) and
 * SSH through the bastion (tools/nodeShell.ts). Loaded only for those commands.
 */
import type { OutputMap } from "@pulumi/pulumi/automation";
import type { DeployArgs } from "./deployArgs";
import { DeployError } from "./engineError";
import { ClusterOutputs, RestoreError, restoreEtcd, snapshotNow } from "./etcdRestore";

export type EtcdTool = (
  args: DeployArgs,
  outputs: OutputMap,
  say: (line: string) => void,
) => Promise<void>;

/** The outputs the tools need, or a message naming the first that is missing. */
export function clusterOutputs(stack: string, outputs: OutputMap): ClusterOutputs {
  const value = (name: string) => {
    const v = outputs[name]?.value;
    if (v === undefined || v === "") {
      throw new DeployError(
        `stack ${stack} has no ${name} output: deploy it first (npm run up -- --stack ${stack})`,
      );
    }
    return v;
  };
  return {
    etcdBackup: outputs.etcdBackup?.value as ClusterOutputs["etcdBackup"],
    nodes: value("nodes") as ClusterOutputs["nodes"],
    bastionIp: value("bastionIp") as string,
    bastionUser: value("bastionUser") as string,
    sshUser: value("sshUser") as string,
    sshPrivateKey: value("sshPrivateKey") as string,
  };
}

export const runEtcdTool: EtcdTool = async (args, outputs, say) => {
  const cluster = clusterOutputs(args.stack, outputs);
  const region = cluster.etcdBackup?.region ?? "us-east-1";
  const { s3SnapshotStore } = await import("../cloud/etcdSnapshots");
  const { bastionShell } = await import("./nodeShell");
  const store = s3SnapshotStore(region, process.env.AWS_PROFILE);
  const shell = await bastionShell({
    bastionHost: cluster.bastionIp,
    bastionUser: cluster.bastionUser,
    nodeUser: cluster.sshUser,
    privateKey: cluster.sshPrivateKey,
  });
  try {
    if (args.command === "etcd-snapshot") {
      await snapshotNow({ stack: args.stack, outputs: cluster, log: say }, store, shell);
    } else {
      await restoreEtcd(
        { stack: args.stack, outputs: cluster, snapshot: args.snapshot, log: say },
        store,
        shell,
      );
    }
  } catch (err) {
    if (err instanceof RestoreError) throw new DeployError(err.message);
    throw err;
  } finally {
    shell.close();
  }
};
