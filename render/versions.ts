/**
 * Pinned versions of everything the guests download besides the Kubernetes packages.
 * One place to bump; the README's "Versions" table is generated from the same values in review.
 */
export const PINNED = {
  /** Flannel release whose kube-flannel.yml is applied (namespace kube-flannel). */
  flannel: "v0.27.4",
  /** Calico release: operator-crds.yaml + tigera-operator.yaml, then our Installation CR. */
  calico: "v3.30.3",
  /** cri-dockerd release tarball (it ships amd64 and arm64 binaries). */
  criDockerd: "0.3.20",
} as const;

/** Release asset URLs derived from the pins. */
export function flannelManifestUrl(version: string = PINNED.flannel): string {
  return `https://github.com/flannel-io/flannel/releases/download/${version}/kube-flannel.yml`;
}

export function calicoManifestUrls(version: string = PINNED.calico): {
  crds: string;
  operator: string;
} {
  const base = `https://raw.githubusercontent.com/projectcalico/calico/${version}/manifests`;
  return { crds: `${base}/operator-crds.yaml`, operator: `${base}/tigera-operator.yaml` };
}

/** `{ARCH}` is substituted on the node with `dpkg --print-architecture` (amd64 | arm64). */
export function criDockerdUrlTemplate(version: string = PINNED.criDockerd): string {
  return `https://github.com/Mirantis/cri-dockerd/releases/download/v${version}/cri-dockerd-${version}.{ARCH}.tgz`;
}
