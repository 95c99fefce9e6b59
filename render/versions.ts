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
  /** Helm 3 on the bastion, for the AWS add-ons' charts (render/cloudAddons.ts). */
  helm: "v3.21.4",
  /** The charts of the AWS add-ons (cloudProvider aws); the controller image follows the minor. */
  awsCloudControllerChart: "0.0.11",
  awsEbsCsiChart: "2.63.1",
} as const;

/**
 * sha256 of each Helm release tarball, from the v3.21.4 release notes (github.com/helm/helm
 * releases); bastion-tools checks both this and the .sha256sum file get.helm.sh publishes.
 */
export const HELM_SHA256: Readonly<Record<"amd64" | "arm64", string>> = {
  amd64: "61f88ab166748cb19604d7884cb100ae9ccb13804ddeb98e08af167eacbb6a14",
  arm64: "b54c04b4e0b2540bbdc08c17a121dab70e9a2ed0de5705528fec68a5fd3b85a7",
};

/** `{ARCH}` is substituted on the bastion (amd64 | arm64); scripts/get-helm-3's URL pattern. */
export function helmUrlTemplate(version: string = PINNED.helm): string {
  return `https://get.helm.sh/helm-${version}-linux-{ARCH}.tar.gz`;
}

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
