/** Type tokens and tags shared by every component. */

/** The package segment of every component type token, e.g. `kubeadm:aws:Network`. */
export const PKG = "kubeadm:aws";

export function typeToken(className: string): string {
  return `${PKG}:${className}`;
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
