/**
 * Wiring only: read and validate the stack config, run the AWS-backed preflight checks, build
 * the cluster, export its outputs. Nothing is created if either check fails.
 */
import { resolveMyIp } from "./components/callerIp";
import { loadConfig } from "./components/config";
import { KubeadmCluster } from "./components/kubeadmCluster";
import { preflight } from "./components/preflight";

export = async () => {
  const config = await resolveMyIp(loadConfig());
  const checked = await preflight(config);
  const cluster = new KubeadmCluster(config.clusterName, { config, preflight: checked });
  return {
    clusterName: config.clusterName,
    kubernetesVersion: config.kubernetesVersion,
    apiEndpoint: cluster.apiEndpoint,
    vpcId: cluster.vpcId,
    nodes: cluster.nodes,
    sshUser: cluster.sshUser,
    sshPrivateKey: cluster.sshPrivateKey,
    kubeconfig: cluster.kubeconfig,
  };
};
