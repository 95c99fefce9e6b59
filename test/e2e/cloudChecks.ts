/**
 * The AWS integration, checked from outside the cluster: a Service of type LoadBalancer gets a
 * hostname from the cloud controller manager and answers HTTP through it, and a claim on the
 * default StorageClass (the EBS CSI driver's gp3) binds and takes a pod's write.
 *
 * Both are left in place on purpose: the destroy must release them (its first step deletes the
 * Service and the claim, and the controllers remove the ELB and the volume) before the nodes go.
 */
import { Kubectl, waitUntil } from "./kube";

const MINUTE = 60_000;
export const CLOUD_NS = "e2e-cloud";
const IMAGE = "registry.k8s.io/e2e-test-images/agnhost:2.53";

const web = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: CLOUD_NS },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: {
        containers: [{ name: "agnhost", image: IMAGE, args: ["netexec", "--http-port=8080"] }],
      },
    },
  },
};

const webService = {
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "web", namespace: CLOUD_NS },
  spec: { type: "LoadBalancer", selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }] },
};

/** The rolling upgrade must keep one web pod up at all times (test/e2e/upgradeChecks.ts). */
const webBudget = {
  apiVersion: "policy/v1",
  kind: "PodDisruptionBudget",
  metadata: { name: "web", namespace: CLOUD_NS },
  spec: { minAvailable: 1, selector: { matchLabels: { app: "web" } } },
};

const claim = {
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  metadata: { name: "data", namespace: CLOUD_NS },
  // No storageClassName: the default class must be the one the program installs.
  spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
};

const writer = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "writer", namespace: CLOUD_NS },
  spec: {
    restartPolicy: "Never",
    containers: [
      {
        name: "writer",
        image: "registry.k8s.io/e2e-test-images/busybox:1.36.1-1",
        command: ["sh", "-c", "echo written-by-e2e > /data/proof && sync && cat /data/proof"],
        volumeMounts: [{ name: "data", mountPath: "/data" }],
      },
    ],
    volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data" } }],
  },
};

/** GET url with a 5 s bound; the body, or undefined while the name or the targets are not up. */
export async function httpBody(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}

export interface CloudCheckResult {
  loadBalancerHostname: string;
  volumeId: string;
}

export async function checkLoadBalancerAndVolume(
  kubectl: Kubectl,
  log: (message: string) => void,
): Promise<CloudCheckResult> {
  await kubectl.apply([{ apiVersion: "v1", kind: "Namespace", metadata: { name: CLOUD_NS } }]);
  await kubectl.apply([web, webBudget, webService, claim, writer]);

  // The default StorageClass is the program's: gp3, encrypted, WaitForFirstConsumer.
  const classes = await kubectl.json<{ items: StorageClass[] }>(["get", "storageclass"]);
  const defaults = classes.items.filter(
    (c) => c.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"] === "true",
  );
  expect(defaults).toHaveLength(1);
  expect(defaults[0]!.provisioner).toBe("ebs.csi.aws.com");
  expect(defaults[0]!.parameters).toMatchObject({ type: "gp3", encrypted: "true" });
  expect(defaults[0]!.volumeBindingMode).toBe("WaitForFirstConsumer");
  expect(defaults[0]!.allowVolumeExpansion).toBe(true);

  const hostname = await waitUntil(
    "the LoadBalancer Service to get a hostname from the cloud controller manager",
    async () =>
      (await kubectl.field(
        ["service", "web", "-n", CLOUD_NS],
        "{.status.loadBalancer.ingress[0].hostname}",
      )) || undefined,
    { timeoutMs: 5 * MINUTE },
  );
  log(`LoadBalancer hostname: ${hostname}`);
  // A new ELB's name takes a few minutes to resolve, and its targets to pass health checks.
  const answer = await waitUntil(
    `http://${hostname}/hostname to answer`,
    () => httpBody(`http://${hostname}/hostname`),
    { timeoutMs: 10 * MINUTE },
  );
  expect(answer).toMatch(/^web-/);

  await kubectl.run(
    [
      "wait",
      "-n",
      CLOUD_NS,
      "--for=jsonpath={.status.phase}=Succeeded",
      "pod/writer",
      "--timeout=300s",
    ],
    { timeoutMs: 330_000, longRunning: true },
  );
  expect((await kubectl.run(["logs", "-n", CLOUD_NS, "writer"])).trim()).toBe("written-by-e2e");
  expect(await kubectl.field(["pvc", "data", "-n", CLOUD_NS], "{.status.phase}")).toBe("Bound");
  const pv = await kubectl.field(["pvc", "data", "-n", CLOUD_NS], "{.spec.volumeName}");
  const volumeId = await kubectl.field(["pv", pv], "{.spec.csi.volumeHandle}");
  expect(volumeId).toMatch(/^vol-[0-9a-f]+$/);
  log(`claim data bound to ${volumeId}`);
  return { loadBalancerHostname: hostname, volumeId };
}

interface StorageClass {
  metadata: { name: string; annotations?: Record<string, string> };
  provisioner: string;
  parameters?: Record<string, string>;
  volumeBindingMode?: string;
  allowVolumeExpansion?: boolean;
}
