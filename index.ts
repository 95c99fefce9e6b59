/**
 * Wiring only: read and check the stack config, then build the cluster (after the my-ip and
 * AWS-backed preflight checks) and export its outputs. Nothing is created if a check fails, and
 * a failure lists every problem found.
 */
import { readStackConfig } from "./components/stackConfig";
import { RECORD_OUTPUT } from "./config/deploymentRecord";
import { createKubeadmCluster } from "./components/createCluster";

export = async () => {
  // Every config problem and every AWS-backed one are reported together, in one run.
  const check = readStackConfig();
  const config = check.config;
  const cluster = await createKubeadmCluster(config, { configCheck: check });
  return {
    clusterName: config.clusterName,
    kubernetesVersion: config.kubernetesVersion,
    // The drift report checks each node's runtime version against this.
    containerRuntime: config.containerRuntime,
    apiEndpoint: cluster.apiEndpoint,
    privateApiEndpoint: cluster.privateApiEndpoint,
    vpcId: cluster.vpcId,
    nodes: cluster.nodes,
    sshUser: cluster.sshUser,
    bastionIp: cluster.bastionIp,
    bastionUser: cluster.bastionUser,
    sshPrivateKey: cluster.sshPrivateKey,
    kubeconfig: cluster.kubeconfig,
    kubeconfigExpiry: cluster.kubeconfigExpiry,
    // Where `npm run etcd-restore` finds the snapshots (absent with etcdBackup.enabled false).
    etcdBackup: cluster.etcdBackup,
    // Read back by the next run: keeps zones and placement, refuses create-only changes.
    [RECORD_OUTPUT]: cluster.deploymentRecordOutput,
  };
};
