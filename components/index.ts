/** The public surface for programs that import this project as a library. */
export { KubeadmCluster } from "./kubeadmCluster";
export type { KubeadmClusterArgs, NodeSummary } from "./kubeadmCluster";
export { ConfigError, DEFAULTS, validateClusterConfig } from "../config/clusterConfig";
export type { ClusterConfig, ClusterConfigInput } from "../config/clusterConfig";
export { preflight } from "./preflight";
export type { PreflightResult } from "./preflight";
export { resolveMyIp } from "../config/callerIp";
export { createKubeadmCluster } from "./createCluster";
export { readPreviousDeployment } from "./previousDeployment";
export { CREATE_ONLY, RECORD_OUTPUT } from "../config/deploymentRecord";
export type { DeploymentRecord } from "../config/deploymentRecord";
export type { CreateClusterOptions } from "./createCluster";
