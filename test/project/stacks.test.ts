/**
 * The stack files, read the way `pulumi up` hands them to the program, pass the program's own
 * config reader; the project file leaves config validation to it.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import type { ClusterConfig } from "../../config/clusterConfig";
import { installMocks } from "../../tools/mockCloud";
import { stackConfigMap } from "../../tools/renderPlan";

const root = path.resolve(__dirname, "..", "..");

/** loadConfig() as it runs in `pulumi up --stack <stack>`. */
async function load(stack: string): Promise<ClusterConfig> {
  await installMocks(stack);
  pulumi.runtime.setAllConfig(stackConfigMap(root, stack));
  const { loadConfig } = await import("../../components/stackConfig");
  return loadConfig();
}

test("dev is the smallest sensible cluster: 1 + 1, containerd, Flannel", async () => {
  const c = await load("dev");
  expect(c).toMatchObject({
    clusterName: "k8s-dev",
    containerRuntime: "containerd",
    cni: "flannel",
    controlPlane: { count: 1 },
    workers: { count: 1 },
    sshIngressCidrs: ["my-ip"],
  });
});

test("prod spreads 3 control planes over 3 zones, with 3 workers, Calico and larger disks", async () => {
  const c = await load("prod");
  expect(c).toMatchObject({
    clusterName: "k8s-prod",
    cni: "calico",
    availabilityZoneCount: 3,
    controlPlane: { count: 3, rootVolumeSizeGiB: 50 },
    workers: { count: 3, rootVolumeSizeGiB: 100 },
  });
});

test("prod ships placeholder CIDRs, so a real `up` refuses it before creating anything", async () => {
  await installMocks("prod");
  pulumi.runtime.setAllConfig(stackConfigMap(root, "prod"));
  const program: () => Promise<unknown> = require("../../index");
  await expect(program()).rejects.toThrow(
    /sshIngressCidrs\[0\] 198\.51\.100\.0\/24 is in 198\.51\.100\.0\/24, a documentation range \(RFC 5737\)[\s\S]*apiIngressCidrs\[0\]/,
  );
});

test("the stacks set the same keys; only their values differ", () => {
  const keys = (stack: string) => Object.keys(stackConfigMap(root, stack)).sort();
  expect(keys("dev").filter((k) => !keys("prod").includes(k))).toEqual([]);
});

test("Pulumi.yaml declares no project config, so the CLI never demands optional keys", () => {
  // The CLI requires every declared key without a default in every stack, and cannot type the
  // structured controlPlane/workers keys (pulumi/pulumi#10832, #11321, #21797). The program's
  // config reader validates and reports every key itself; the README is the reference.
  const project = parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"));
  expect(project.config).toBeUndefined();
  expect(project.backend.url).toBe("file://~");
});
