/**
 * The cloud side of the cluster on the bastion (cloudProvider aws): what must happen first in a
 * destroy. `release-cloud-resources` has a delete script that runs in a destroy (no deletedWith):
 * it depends on every node's join and member steps and on every add-on step, so the engine deletes
 * it before any of them (and so before every instance), while the cloud controller manager and the EBS CSI driver still run and
 * can remove the load balancers and volumes they made. It never fails a destroy (the sweep,
 * components/cloudSweep.ts, removes what is left once the nodes are gone).
 */
import type * as remote from "@pulumi/command/remote";
import * as pulumi from "@pulumi/pulumi";
import {
  CLOUD_CONTROLLER_CHART,
  cloudControllerImageTag,
  cloudControllerValues,
  EBS_CSI_CHART,
  ebsCsiValues,
} from "../../render/cloudAddons";
import * as steps from "../../render/steps";
import { BootstrapContext, TIMEOUTS } from "./context";

/**
 * The AWS cloud controller manager, from the bastion as soon as the API answers: it initialises
 * every node (provider ID, zone, addresses) and removes the kubelet's `uninitialized` taint, so
 * it comes before anything that needs a schedulable node. In the host network: no CNI needed.
 */
export function installCloudController(
  ctx: BootstrapContext,
  clusterName: string,
  dependsOn: pulumi.Resource[],
): remote.Command {
  const values = cloudControllerValues(ctx.config.kubernetesVersion);
  ctx.artifacts.set("aws-cloud-controller-manager.values.yaml", pulumi.output(values));
  return ctx.step(`${clusterName}-cloud-controller`, {
    step: "helm-release",
    target: ctx.bastionTarget(),
    tag: "cloud-controller",
    script: steps.renderHelmRelease({
      releaseName: CLOUD_CONTROLLER_CHART.name,
      namespace: "kube-system",
      chartUrl: CLOUD_CONTROLLER_CHART.url,
      chartSha256: CLOUD_CONTROLLER_CHART.sha256,
      values,
      rollouts: ["daemonset/aws-cloud-controller-manager"],
      timeoutSeconds: TIMEOUTS.addons,
    }),
    stdin: ctx.operationsBundle,
    // Its image tracks the Kubernetes minor: a rolling upgrade to a new minor installs the
    // matching release (after the control planes, which the caller then puts in dependsOn).
    triggers: [cloudControllerImageTag(ctx.config.kubernetesVersion)],
    dependsOn,
  });
}

/** The EBS CSI driver and its default gp3 StorageClass, once the pod network runs. */
export function installEbsCsi(
  ctx: BootstrapContext,
  clusterName: string,
  region: string,
  dependsOn: pulumi.Resource[],
): remote.Command {
  const values = ebsCsiValues(clusterName, region);
  ctx.artifacts.set("aws-ebs-csi-driver.values.yaml", pulumi.output(values));
  return ctx.step(`${clusterName}-ebs-csi`, {
    step: "helm-release",
    target: ctx.bastionTarget(),
    tag: "ebs-csi",
    script: steps.renderHelmRelease({
      releaseName: EBS_CSI_CHART.name,
      namespace: "kube-system",
      chartUrl: EBS_CSI_CHART.url,
      chartSha256: EBS_CSI_CHART.sha256,
      values,
      // The node plugin runs on every node as it joins; the controller is what volumes wait for.
      rollouts: ["deployment/ebs-csi-controller"],
      timeoutSeconds: TIMEOUTS.addons,
    }),
    stdin: ctx.operationsBundle,
    triggers: [],
    dependsOn,
  });
}

export function releaseCloudResourcesOnDestroy(
  ctx: BootstrapContext,
  clusterName: string,
  dependsOn: pulumi.Resource[],
): remote.Command {
  const render = (mode: "report" | "release") =>
    steps.renderReleaseCloudResources({
      mode,
      apiWaitSeconds: TIMEOUTS.apiWait,
      releaseTimeoutSeconds: TIMEOUTS.releaseCloudResources,
    });
  return ctx.step(`${clusterName}-release-cloud-resources`, {
    step: "release-cloud-resources",
    target: ctx.bastionTarget(),
    tag: clusterName,
    script: render("report"),
    deleteScript: render("release"),
    runsOnDestroy: true,
    stdin: ctx.operationsBundle,
    // Never replaced: its delete is for the destroy only.
    triggers: [],
    dependsOn,
  });
}
