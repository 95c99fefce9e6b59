/**
 * Using this repository as a library: a Pulumi program of your own that builds a cluster from a
 * literal configuration instead of this project's stack config. It has no package.json of its
 * own; the repository's node_modules serve it.
 *
 *   npm ci                                  # at the repository root
 *   cd examples/library
 *   pulumi stack init dev && pulumi config set aws:region us-east-1
 *   pulumi up
 */
import * as pulumi from "@pulumi/pulumi";
import { createKubeadmCluster, RECORD_OUTPUT, validateClusterConfig } from "../../components";

// An async program, as in the root index.ts: `my-ip` and the checks that need AWS answers
// (instance types, availability zones) resolve before the first resource is registered, and the
// returned object becomes the stack outputs.
export = async () => {
  // Same keys, defaults and rules as the stack config (README, "Configuration"); every problem is
  // reported at once, before anything is created.
  const config = validateClusterConfig(
    {
      // Its own name, so it never collides with the root project's k8s-<stack> clusters.
      clusterName: "k8s-library-example",
      kubernetesVersion: "1.34.2",
      cni: "calico",
      controlPlane: { count: 3, instanceType: "t3.medium" },
      workers: { count: 2, instanceType: "t3.large", rootVolumeSizeGiB: 50 },
      availabilityZoneCount: 3,
      sshIngressCidrs: ["my-ip"],
    },
    pulumi.getStack(),
  );
  // my-ip and the AWS-backed checks run here, before the first resource is registered.
  const cluster = await createKubeadmCluster(config);
  return {
    apiEndpoint: cluster.apiEndpoint,
    nodes: cluster.nodes,
    sshUser: cluster.sshUser,
    // Both are secrets: `pulumi stack output kubeconfig --show-secrets > kubeconfig`.
    sshPrivateKey: cluster.sshPrivateKey,
    kubeconfig: cluster.kubeconfig,
    // What this deployment built; the next `up` reads it back from this output to keep nodes
    // in their zones and refuse create-only changes (README, "Day-2 operations").
    [RECORD_OUTPUT]: cluster.deploymentRecord,
  };
};
