/** The settings every instance of the cluster shares: IMDSv2 only, an encrypted gp3 root. */
import type * as aws from "@pulumi/aws";

/**
 * IMDSv2 only (session tokens), hop limit 1: a pod, one network hop further than the host, never
 * reaches the instance's credentials. The control planes take 2 with cloudProvider aws: the EBS
 * CSI controller runs there in the pod network and signs its calls with the instance profile,
 * and its chart has no host-network option (kubernetes-sigs/aws-ebs-csi-driver chart 2.63.1,
 * templates/controller.yaml). Workers and the bastion keep 1.
 */
export const IMDS_V2_ONLY: aws.types.input.ec2.InstanceMetadataOptions = {
  httpEndpoint: "enabled",
  httpTokens: "required",
  httpPutResponseHopLimit: 1,
};

/** An encrypted gp3 root volume that goes with the instance. */
export function encryptedRoot(sizeGiB: number): aws.types.input.ec2.InstanceRootBlockDevice {
  return { volumeType: "gp3", volumeSize: sizeGiB, encrypted: true, deleteOnTermination: true };
}
