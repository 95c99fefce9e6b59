/**
 * A second Pulumi program that runs a workload on a cluster made by kubeadm-aws. It never sees
 * AWS: it reads the cluster stack's `kubeconfig` output through a StackReference (the value stays
 * a secret here too) and talks to the API through a @pulumi/kubernetes provider.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config();
// For the local and S3 backends the organization is literally "organization".
const clusterStack = new pulumi.StackReference(
  config.get("clusterStack") ?? "organization/kubeadm-aws/dev",
);

const provider = new k8s.Provider("cluster", {
  kubeconfig: clusterStack.requireOutput("kubeconfig") as pulumi.Output<string>,
  // The kubeconfig text changes when credentials rotate; the cluster does not. Without a stable
  // identifier that change would replace the provider and every object deployed through it.
  clusterIdentifier: clusterStack.requireOutput("clusterName") as pulumi.Output<string>,
});

const ns = new k8s.core.v1.Namespace("nginx-demo", {}, { provider });

const labels = { app: "nginx" };

new k8s.apps.v1.Deployment(
  "nginx",
  {
    metadata: { namespace: ns.metadata.name, labels },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: "nginx",
              image: "nginx:1.27-alpine",
              ports: [{ name: "http", containerPort: 80 }],
              readinessProbe: { httpGet: { path: "/", port: "http" } },
              resources: {
                requests: { cpu: "50m", memory: "32Mi" },
                limits: { memory: "64Mi" },
              },
            },
          ],
        },
      },
    },
  },
  { provider },
);

const service = new k8s.core.v1.Service(
  "nginx",
  {
    metadata: { namespace: ns.metadata.name, labels },
    spec: {
      type: "ClusterIP",
      selector: labels,
      ports: [{ name: "http", port: 80, targetPort: "http" }],
    },
  },
  { provider },
);

/** The generated namespace name, e.g. nginx-demo-1a2b3c4d. */
export const namespace = ns.metadata.name;
export const serviceName = service.metadata.name;
