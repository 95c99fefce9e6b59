/** Type tokens and tags shared by every component. */

/** The package segment of every component type token, e.g. `kubeadm:aws:Network`. */
export const PKG = "kubeadm:aws";

export function typeToken(className: string): string {
  return `${PKG}:${className}`;
}

/**
 * The tag the AWS cloud controller manager and the EBS CSI driver know a cluster's resources by
 * (cloud-provider-aws: `kubernetes.io/cluster/<cluster id>`, value `owned` or `shared`). The
 * program puts it, `owned`, on its instances, subnets and on exactly one security group per
 * instance (the `nodes` group); what the controllers create carries it too, without the
 * `managed-by: pulumi` tag, which is how the destroy sweep tells the two apart.
 */
export function kubernetesClusterTag(clusterName: string): Record<string, string> {
  return { [`kubernetes.io/cluster/${clusterName}`]: "owned" };
}

/**
 * Where the cloud controller puts a `LoadBalancer` Service's load balancer: internet-facing ones
 * in subnets tagged `kubernetes.io/role/elb`, internal ones in `kubernetes.io/role/internal-elb`
 * (cloud-provider-aws subnet discovery). Public node subnets take both; in the private topology
 * the edge subnets take internet-facing ones and the node subnets internal ones.
 */
export function subnetRoleTags(isPublic: boolean, holdsNodes: boolean): Record<string, string> {
  return {
    ...(isPublic ? { "kubernetes.io/role/elb": "1" } : {}),
    ...(holdsNodes ? { "kubernetes.io/role/internal-elb": "1" } : {}),
  };
}

/** Tags every AWS resource carries, so a cluster's resources can be found and billed together. */
export function clusterTags(
  clusterName: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    "kubeadm-aws/cluster": clusterName,
    "managed-by": "pulumi",
    ...extra,
  };
}
