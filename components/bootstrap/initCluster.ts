/**
 * Phase 2: `kubeadm init`, once for the life of the cluster, on the instance that is cp-0 when the
 * cluster is created, with the CAs and service-account keys the program made (on stdin). It has
 * no triggers and ignores changes to every input (remoteStep `once`), so a replaced cp-0 does not
 * run it again: it joins like any other control plane (joinNodes.ts). Then the pod network
 * (Flannel or Calico at pinned versions), applied from the bastion once the API answers.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as remote from "@pulumi/command/remote";
import { renderCalicoResources } from "../../render/cniConfig";
import { renderInitConfig } from "../../render/kubeadmConfig";
import { renderSecretBundle } from "../../render/script";
import * as steps from "../../render/steps";
import { calicoManifestUrls, flannelManifestUrl } from "../../render/versions";
import type { ClusterNode } from "../nodes";
import type { Pki } from "../pki";
import { BootstrapContext, TIMEOUTS } from "./context";

export function initCluster(
  ctx: BootstrapContext,
  cp0: ClusterNode,
  pki: Pki,
  dependsOn: pulumi.Resource[],
): remote.Command {
  const initConfig = pulumi
    .all([ctx.settings, ctx.nodeSettings(cp0)])
    .apply(([s, n]) => renderInitConfig(s, n));
  ctx.artifacts.set(`${cp0.name}/kubeadm-init.yaml`, initConfig);
  // Named after the node that ran it when the cluster was created; it stays in state after
  // that instance is replaced, as the record that the cluster exists.
  return ctx.step(`${cp0.name}-init`, {
    step: "init",
    target: ctx.target(cp0),
    tag: cp0.name,
    script: initConfig.apply((kubeadmConfig) =>
      steps.renderInit({
        kubeadmConfig,
        criSocket: ctx.criSocket,
        apiEndpointHost: ctx.apiEndpointHost,
        timeoutSeconds: TIMEOUTS.kubeadm,
      }),
    ),
    stdin: pulumi.secret(pki.controlPlaneFiles().apply(renderSecretBundle)),
    triggers: [],
    once: true,
    dependsOn,
    createTimeout: "30m",
  });
}

/** The pod network, applied from the bastion once the API answers on the private name. */
export function installCni(
  ctx: BootstrapContext,
  clusterName: string,
  dependsOn: pulumi.Resource[],
): remote.Command {
  const { config } = ctx;
  const calicoResources =
    config.cni === "calico" ? renderCalicoResources({ podCidr: config.podCidr }) : "";
  if (calicoResources) ctx.artifacts.set("calico-resources.yaml", pulumi.output(calicoResources));
  return ctx.step(`${clusterName}-cni`, {
    step: "cni",
    target: ctx.bastionTarget(),
    tag: clusterName,
    script: steps.renderCni({
      cni: config.cni,
      podCidr: config.podCidr,
      flannelManifestUrl: flannelManifestUrl(),
      calicoCrdsUrl: calicoManifestUrls().crds,
      calicoOperatorUrl: calicoManifestUrls().operator,
      calicoResources,
      timeoutSeconds: TIMEOUTS.cni,
    }),
    stdin: ctx.operationsBundle,
    // Once per cluster: the manifests are the cluster's, not any node's.
    triggers: [],
    dependsOn,
  });
}
