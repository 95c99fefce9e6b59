/** The stack files and the project file agree with the config schema. */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { validateClusterConfig } from "../components/clusterConfig";
import { CONFIG_KEYS } from "../components/config";
import { readStackConfig } from "../tools/renderPlan";

const root = path.resolve(__dirname, "..");

test("dev is the smallest sensible cluster: 1 + 1, containerd, Flannel", () => {
  const c = validateClusterConfig(readStackConfig(root, "dev"), "dev");
  expect(c).toMatchObject({
    clusterName: "k8s-dev",
    containerRuntime: "containerd",
    cni: "flannel",
    controlPlane: { count: 1 },
    workers: { count: 1 },
    sshIngressCidrs: ["my-ip"],
  });
});

test("prod spreads 3 control planes over 3 zones, with 3 workers, Calico and larger disks", () => {
  const c = validateClusterConfig(readStackConfig(root, "prod"), "prod");
  expect(c).toMatchObject({
    cni: "calico",
    availabilityZoneCount: 3,
    controlPlane: { count: 3, rootVolumeSizeGiB: 50 },
    workers: { count: 3, rootVolumeSizeGiB: 100 },
  });
});

test("the stacks differ only in config values, not in the keys they may use", () => {
  for (const stack of ["dev", "prod"]) {
    const keys = Object.keys(readStackConfig(root, stack));
    expect(keys.filter((k) => !(CONFIG_KEYS as readonly string[]).includes(k))).toEqual([]);
  }
});

test("Pulumi.yaml declares every scalar and list key with a description", () => {
  const project = parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"));
  const declared = project.config as Record<string, { type: string; description: string }>;
  const objects = ["controlPlane", "workers"]; // project config cannot type objects
  expect(Object.keys(declared).sort()).toEqual(
    CONFIG_KEYS.filter((k) => !objects.includes(k)).sort(),
  );
  for (const [key, spec] of Object.entries(declared)) {
    expect([key, spec.description.length > 10]).toEqual([key, true]);
  }
  expect(project.backend.url).toBe("file://~");
});
