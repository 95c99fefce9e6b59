/**
 * The AWS add-ons at pinned versions, and the Helm values this program gives them: the AWS cloud
 * controller manager (LoadBalancer Services, node initialisation) and the EBS CSI driver
 * (volumes, with a default gp3 StorageClass). Pure: guest/cloud-controller.sh and
 * guest/ebs-csi.sh install the charts from the bastion with Helm, each chart file checked
 * against the digest its project's chart index publishes.
 *
 * Sources (read at the tags named; /work notes of the research are in the closing note):
 * - kubernetes/cloud-provider-aws: docs/RELEASE.md (a release 1.N.x is for Kubernetes 1.N);
 *   the chart at tag helm-chart-aws-cloud-controller-manager-0.0.11 (values.yaml,
 *   templates/daemonset.yaml: `hostNetworking` turns on hostNetwork); the chart index on gh-pages
 *   (the digest is the sha256 of the .tgz); the images promoted to registry.k8s.io
 *   (kubernetes/k8s.io registry.k8s.io/images/k8s-staging-provider-aws/images.yaml).
 * - kubernetes-sigs/aws-ebs-csi-driver: chart 2.63.1 (values.yaml: controller.region,
 *   controller.k8sTagClusterId, node.metadataSources, storageClasses), its gh-pages index.
 */
import { parse as parseVersion } from "semver";
import { stringify } from "yaml";

/**
 * The newest cloud-provider-aws release for each Kubernetes minor whose image is on
 * registry.k8s.io (some tags, e.g. v1.34.1, never got one).
 */
export const CLOUD_CONTROLLER_IMAGE_TAGS: Readonly<Record<number, string>> = {
  29: "v1.29.10",
  30: "v1.30.10",
  31: "v1.31.9",
  32: "v1.32.8",
  33: "v1.33.4",
  34: "v1.34.3",
  35: "v1.35.2",
};

export interface PinnedChart {
  readonly name: string;
  readonly version: string;
  readonly url: string;
  /** sha256 of the .tgz, as the chart repository's index.yaml lists it. */
  readonly sha256: string;
}

/** The chart is the same for every minor: the image tag is set per minor. */
export const CLOUD_CONTROLLER_CHART: PinnedChart = {
  name: "aws-cloud-controller-manager",
  version: "0.0.11",
  url: "https://github.com/kubernetes/cloud-provider-aws/releases/download/helm-chart-aws-cloud-controller-manager-0.0.11/aws-cloud-controller-manager-0.0.11.tgz",
  sha256: "3da2227e83bce236b8278903fb87ad0bc33c5d4da8e5dd521b974ec0c740886f",
};

/** v1.63.1, a security release with weeks of use, rather than the day-old v1.64.0. */
export const EBS_CSI_CHART: PinnedChart = {
  name: "aws-ebs-csi-driver",
  version: "2.63.1",
  url: "https://github.com/kubernetes-sigs/aws-ebs-csi-driver/releases/download/helm-chart-aws-ebs-csi-driver-2.63.1/aws-ebs-csi-driver-2.63.1.tgz",
  sha256: "fa477425fb961a9755dfda49a4564ee4d51381f65d199e5f98b301156b6362bc",
};

export function cloudControllerImageTag(kubernetesVersion: string): string {
  const v = parseVersion(kubernetesVersion);
  const tag = v ? CLOUD_CONTROLLER_IMAGE_TAGS[v.minor] : undefined;
  if (!v || v.major !== 1 || !tag) {
    throw new Error(`no cloud-provider-aws release is pinned for Kubernetes ${kubernetesVersion}`);
  }
  return tag;
}

const CONTROL_PLANE_SELECTOR = { "node-role.kubernetes.io/control-plane": "" };
const CONTROL_PLANE_TOLERATION = {
  key: "node-role.kubernetes.io/control-plane",
  operator: "Exists",
  effect: "NoSchedule",
};

/**
 * The cloud controller manager: a DaemonSet on the control planes, in the host network so that
 * it reaches the instance metadata (and the instance's credentials) with the hop limit of 1; the
 * route controller off (the CNI routes pods, nothing needs VPC routes). It finds the cluster by
 * the `kubernetes.io/cluster/<name>` tag of the instance it runs on.
 */
export function cloudControllerValues(kubernetesVersion: string): string {
  return stringify({
    image: { tag: cloudControllerImageTag(kubernetesVersion) },
    hostNetworking: true,
    dnsPolicy: "Default",
    args: ["--v=2", "--cloud-provider=aws", "--configure-cloud-routes=false"],
    nodeSelector: CONTROL_PLANE_SELECTOR,
    tolerations: [
      {
        key: "node.cloudprovider.kubernetes.io/uninitialized",
        value: "true",
        effect: "NoSchedule",
      },
      CONTROL_PLANE_TOLERATION,
    ],
  });
}

/**
 * The EBS CSI driver. The controller runs on the control planes, whose instance profile holds
 * the volume permissions; the chart has no host-network option for it, so those instances allow
 * an IMDS hop limit of 2 (and only those: workers keep 1). Its region is given, so it needs the
 * metadata only for credentials. The node plugin reads its instance from the Kubernetes API (the
 * provider ID and zone labels the cloud controller sets), never from the metadata service.
 * Volumes carry `kubernetes.io/cluster/<name>: owned`, which the destroy sweep looks for.
 */
export function ebsCsiValues(clusterName: string, region: string): string {
  return stringify({
    controller: {
      region,
      k8sTagClusterId: clusterName,
      nodeSelector: CONTROL_PLANE_SELECTOR,
      tolerations: [
        CONTROL_PLANE_TOLERATION,
        { key: "CriticalAddonsOnly", operator: "Exists" },
        { effect: "NoExecute", operator: "Exists", tolerationSeconds: 300 },
      ],
    },
    node: { metadataSources: "kubernetes", tolerateAllTaints: true },
    storageClasses: [
      {
        name: "gp3",
        annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
        volumeBindingMode: "WaitForFirstConsumer",
        allowVolumeExpansion: true,
        reclaimPolicy: "Delete",
        parameters: { type: "gp3", encrypted: "true" },
      },
    ],
  });
}
