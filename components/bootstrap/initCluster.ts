/**
 * Phase 2, on the first control-plane node: `kubeadm init` with the PKI the program made (on
 * stdin), then the pod network (Flannel or Calico at pinned versions).
 */
import * as pulumi from "@pulumi/pulumi";
import type * as remote from "@pulumi/command/remote";
import { renderCalicoResources } from "../../render/cniConfig";
import { parseControlPlaneEndpoint, renderInitConfig } from "../../render/kubeadmConfig";
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
  return ctx.step(`${cp0.name}-init`, {
    step: "init",
    target: ctx.target(cp0),
    tag: cp0.name,
    script: pulumi.all([ctx.settings, initConfig]).apply(([s, kubeadmConfig]) =>
      steps.renderInit({
        kubeadmConfig,
        criSocket: ctx.criSocket,
        apiEndpointHost: parseControlPlaneEndpoint(s.controlPlaneEndpoint).host,
        timeoutSeconds: TIMEOUTS.kubeadm,
      }),
    ),
    stdin: pki.initBundle().apply(renderSecretBundle),
    triggers: [cp0.instance.id],
    dependsOn,
    createTimeout: "30m",
  });
}

/** The pod network, applied from the first control-plane node once the API answers. */
export function installCni(
  ctx: BootstrapContext,
  clusterName: string,
  cp0: ClusterNode,
  init: remote.Command,
): remote.Command {
  const { config } = ctx;
  const calicoResources =
    config.cni === "calico" ? renderCalicoResources({ podCidr: config.podCidr }) : "";
  if (calicoResources) ctx.artifacts.set("calico-resources.yaml", pulumi.output(calicoResources));
  return ctx.step(`${clusterName}-cni`, {
    step: "cni",
    target: ctx.target(cp0),
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
    triggers: [cp0.instance.id],
    dependsOn: [init],
  });
}
