/**
 * Bootstrap: the chain of remote commands that turns instances into a cluster.
 *
 *   instance ─> wait-ready ─> prepare ─┬─> (cp0) init ─> cni ──────────────────────────┐
 *                                      │     ├─> creds(cp1) ─> join(cp1) ─> creds(cp2) ─> join(cp2)
 *                                      │     └─> creds(wN) ─> join(wN)   (workers in parallel)
 *   join(N) ─> member(N) [delete: drain, etcd member removal, Node deletion]  ──> cluster-ready ─> kubeconfig
 *
 * Credentials are made on the first control-plane node right before each join (a fresh token,
 * and for a control-plane join a fresh certificate upload), so a node added weeks later joins
 * like one added at creation.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as remote from "@pulumi/command/remote";
import { renderCalicoResources } from "../scripts/cniConfig";
import {
  ClusterSettings,
  CRI_SOCKETS,
  parseControlPlaneEndpoint,
  renderInitConfig,
  renderJoinConfig,
} from "../scripts/kubeadmConfig";
import { renderSecretBundle } from "../scripts/render";
import * as steps from "../scripts/steps";
import {
  calicoManifestUrls,
  criDockerdUrlTemplate,
  flannelManifestUrl,
  PINNED,
} from "../scripts/versions";
import { API_PORT } from "./apiLoadBalancer";
import type { ClusterConfig } from "./clusterConfig";
import type { ClusterNode } from "./nodes";
import type { Pki } from "./pki";
import { remoteStep, SshTarget } from "./remoteStep";

/** Timeouts, in seconds unless named otherwise. */
export const TIMEOUTS = {
  waitReady: 900,
  kubeadm: 600,
  cni: 600,
  clusterReady: 900,
  registerNode: 300,
  drain: 90,
  apiWait: 20,
  /** Bootstrap tokens live long enough for a join and its one retry, not for days. */
  tokenTtl: "2h0m0s",
} as const;

export interface BootstrapArgs {
  readonly config: ClusterConfig;
  readonly controlPlanes: readonly ClusterNode[];
  readonly workers: readonly ClusterNode[];
  readonly sshUser: string;
  readonly sshPrivateKey: pulumi.Output<string>;
  /** The load balancer's DNS name (controlPlaneEndpoint host). */
  readonly apiEndpointHost: pulumi.Output<string>;
  readonly pki: Pki;
  /** Resources init must wait for: cp0's load-balancer attachment (so health checks start). */
  readonly initDependsOn: pulumi.Resource[];
  /** Per node name, resources its join must wait for (its API ingress rule). */
  readonly joinDependsOn: ReadonlyMap<string, pulumi.Resource[]>;
  readonly parent: pulumi.Resource;
}

export interface BootstrapResult {
  readonly kubeconfig: pulumi.Output<string>;
  readonly clusterReady: remote.Command;
  /** Every command, by its resource name: used by tests and by the benchmark. */
  readonly commands: ReadonlyMap<string, remote.Command>;
  /** Rendered configuration files by relative path (`<node>/kubeadm-join.yaml`), for review. */
  readonly artifacts: ReadonlyMap<string, pulumi.Output<string>>;
}

/** The kubeadm settings shared by every node of the cluster. */
export function clusterSettings(config: ClusterConfig, endpointHost: string): ClusterSettings {
  return {
    kubernetesVersion: config.kubernetesVersion,
    clusterName: config.clusterName,
    controlPlaneEndpoint: `${endpointHost}:${API_PORT}`,
    // renderInitConfig always adds the endpoint host; no other names are needed.
    certSANs: [],
    podSubnet: config.podCidr,
    serviceSubnet: config.serviceCidr,
    criSocket: CRI_SOCKETS[config.containerRuntime],
  };
}

export function createBootstrap(name: string, args: BootstrapArgs): BootstrapResult {
  const { config, parent } = args;
  const cp0 = args.controlPlanes[0];
  if (!cp0) throw new Error("the bootstrap needs at least one control-plane node");
  const criSocket = CRI_SOCKETS[config.containerRuntime];
  const commands = new Map<string, remote.Command>();
  const artifacts = new Map<string, pulumi.Output<string>>();
  const target = (node: ClusterNode): SshTarget => ({
    host: node.publicIp,
    user: args.sshUser,
    privateKey: args.sshPrivateKey,
  });
  const step = (
    resourceName: string,
    stepArgs: Omit<Parameters<typeof remoteStep>[1], "parent">,
  ): remote.Command => {
    const command = remoteStep(resourceName, { ...stepArgs, parent });
    commands.set(resourceName, command);
    return command;
  };
  const settings = args.apiEndpointHost.apply((host) => clusterSettings(config, host));
  const nodeSettings = (node: ClusterNode) =>
    pulumi.all([node.privateDns, node.privateIp]).apply(([nodeName, advertiseAddress]) => ({
      nodeName,
      advertiseAddress,
    }));

  // wait-ready and prepare: every node in parallel, right after boot, not waiting on the LB.
  const prepared = new Map<string, remote.Command>();
  for (const node of [...args.controlPlanes, ...args.workers]) {
    const ready = step(`${node.name}-wait-ready`, {
      step: "wait-ready",
      target: target(node),
      tag: node.name,
      script: steps.renderWaitReady({ timeoutSeconds: TIMEOUTS.waitReady }),
      triggers: [node.instance.id],
      firstContact: true,
      createTimeout: "25m",
    });
    prepared.set(
      node.name,
      step(`${node.name}-prepare`, {
        step: "prepare",
        target: target(node),
        tag: node.name,
        script: steps.renderPrepare({
          role: node.role,
          kubernetesVersion: config.kubernetesVersion,
          runtime: config.containerRuntime,
          criSocket,
          criDockerdVersion: PINNED.criDockerd,
          criDockerdUrlTemplate: criDockerdUrlTemplate(),
        }),
        triggers: [node.instance.id],
        dependsOn: [ready],
        createTimeout: "30m",
      }),
    );
  }

  // init on the first control-plane node.
  const initConfig = pulumi
    .all([settings, nodeSettings(cp0)])
    .apply(([s, n]) => renderInitConfig(s, n));
  artifacts.set(`${cp0.name}/kubeadm-init.yaml`, initConfig);
  const init = step(`${cp0.name}-init`, {
    step: "init",
    target: target(cp0),
    tag: cp0.name,
    script: pulumi.all([settings, initConfig]).apply(([s, kubeadmConfig]) =>
      steps.renderInit({
        kubeadmConfig,
        criSocket,
        apiEndpointHost: parseControlPlaneEndpoint(s.controlPlaneEndpoint).host,
        timeoutSeconds: TIMEOUTS.kubeadm,
      }),
    ),
    stdin: args.pki.initBundle().apply(renderSecretBundle),
    triggers: [cp0.instance.id],
    dependsOn: [prepared.get(cp0.name)!, ...args.initDependsOn],
    createTimeout: "30m",
  });

  const calicoResources =
    config.cni === "calico" ? renderCalicoResources({ podCidr: config.podCidr }) : "";
  if (calicoResources) artifacts.set("calico-resources.yaml", pulumi.output(calicoResources));
  const cni = step(`${name}-cni`, {
    step: "cni",
    target: target(cp0),
    tag: name,
    script: steps.renderCni({
      cni: config.cni,
      podCidr: config.podCidr,
      flannelManifestUrl: flannelManifestUrl(),
      calicoCrdsUrl: calicoManifestUrls().crds,
      calicoOperatorUrl: calicoManifestUrls().operator,
      calicoResources:
        config.cni === "calico" ? renderCalicoResources({ podCidr: config.podCidr }) : "",
      timeoutSeconds: TIMEOUTS.cni,
    }),
    triggers: [cp0.instance.id],
    dependsOn: [init],
  });

  // creds -> join -> member for one node; returns the join and the member commands.
  const joinNode = (
    node: ClusterNode,
    after: pulumi.Resource[],
    memberAfter: pulumi.Resource[],
  ) => {
    const creds = step(`${node.name}-creds`, {
      step: "creds",
      target: target(cp0),
      tag: node.name,
      script: steps.renderCreds({ joinRole: node.role, tokenTtl: TIMEOUTS.tokenTtl }),
      triggers: [cp0.instance.id, node.instance.id],
      secretStdout: true,
      dependsOn: [init, prepared.get(node.name)!, ...after],
    });
    const secrets = pulumi
      .all([creds.stdout, args.pki.certificateKey])
      .apply(([stdout, certificateKey]) =>
        renderSecretBundle(
          node.role === "control-plane"
            ? { token: stdout.trim(), "certificate-key": certificateKey }
            : { token: stdout.trim() },
        ),
      );
    const joinConfig = pulumi
      .all([settings, nodeSettings(node), args.pki.caCertHash])
      .apply(([s, n, hash]) => renderJoinConfig(s, n, node.role, hash));
    artifacts.set(`${node.name}/kubeadm-join.yaml`, joinConfig);
    const join = step(`${node.name}-join`, {
      step: "join",
      target: target(node),
      tag: node.name,
      script: pulumi
        .all([settings, joinConfig, cp0.privateIp])
        .apply(([s, rendered, bootstrapIp]) =>
          steps.renderJoin({
            role: node.role,
            joinConfig: rendered,
            criSocket,
            apiEndpointHost: parseControlPlaneEndpoint(s.controlPlaneEndpoint).host,
            apiEndpointPort: API_PORT,
            bootstrapApiIp: bootstrapIp,
            timeoutSeconds: TIMEOUTS.kubeadm,
          }),
        ),
      stdin: pulumi.secret(secrets),
      triggers: [node.instance.id],
      dependsOn: [creds, ...(args.joinDependsOn.get(node.name) ?? [])],
      createTimeout: "30m",
    });
    const member = step(`${node.name}-member`, {
      step: "register-node",
      target: target(cp0),
      tag: node.name,
      script: node.privateDns.apply((nodeName) =>
        steps.renderRegisterNode({
          nodeName,
          role: node.role,
          timeoutSeconds: TIMEOUTS.registerNode,
        }),
      ),
      deleteScript: node.privateDns.apply((nodeName) =>
        steps.renderRemoveNode({
          nodeName,
          role: node.role,
          drainTimeoutSeconds: TIMEOUTS.drain,
          apiWaitSeconds: TIMEOUTS.apiWait,
        }),
      ),
      triggers: [cp0.instance.id, node.instance.id],
      dependsOn: [join, ...memberAfter],
    });
    return { join, member };
  };

  // Control-plane nodes join one at a time (etcd grows one member at a time), and are removed
  // one at a time too: each member resource depends on the previous one, so deletes go in
  // reverse order.
  const joined: pulumi.Resource[] = [];
  let previousJoin: pulumi.Resource[] = [];
  let previousMember: pulumi.Resource[] = [];
  for (const node of args.controlPlanes.slice(1)) {
    const { join, member } = joinNode(node, previousJoin, previousMember);
    joined.push(join, member);
    previousJoin = [join];
    previousMember = [member];
  }
  // Workers join in parallel, each as soon as init is done and its own node is prepared.
  for (const node of args.workers) {
    const { join, member } = joinNode(node, [], []);
    joined.push(join, member);
  }

  const allNodes = [...args.controlPlanes, ...args.workers];
  const clusterReady = step(`${name}-cluster-ready`, {
    step: "cluster-ready",
    target: target(cp0),
    tag: name,
    // The exact names, not a count: during a scale-down the leaving node is still registered
    // when this re-runs (Pulumi deletes removed resources last).
    script: pulumi
      .all(allNodes.map((n) => n.privateDns))
      .apply((nodeNames) =>
        steps.renderClusterReady({ nodeNames, timeoutSeconds: TIMEOUTS.clusterReady }),
      ),
    // Re-checked whenever the set of nodes changes.
    triggers: [
      cp0.instance.id,
      ...[...args.controlPlanes, ...args.workers].map((n) => n.instance.id),
    ],
    dependsOn: [cni, ...joined],
    createTimeout: "20m",
  });

  const kubeconfig = step(`${name}-kubeconfig`, {
    step: "kubeconfig",
    target: target(cp0),
    tag: name,
    script: steps.renderKubeconfig(),
    triggers: [cp0.instance.id],
    secretStdout: true,
    dependsOn: [clusterReady],
  });

  return { kubeconfig: pulumi.secret(kubeconfig.stdout), clusterReady, commands, artifacts };
}
