/**
 * KubeadmCluster: the whole cluster as one component. It validates its input with the same
 * rules as the stack config, then composes Pki, Network, the API (internal load balancer, the
 * fixed private name, the optional public load balancer: clusterApi.ts), the bastion, the nodes
 * and the bootstrap chain. Another Pulumi program can import it and pass its own configuration;
 * `createKubeadmCluster` (createCluster.ts) runs the checks that must come first:
 *
 *   const config = validateClusterConfig({ sshIngressCidrs: ["198.51.100.7/32"] });
 *   const cluster = await createKubeadmCluster(config);
 */
import type * as remote from "@pulumi/command/remote";
import * as pulumi from "@pulumi/pulumi";
import { MY_IP, usesMyIp } from "../config/callerIp";
import { ClusterConfig, ClusterConfigInput, validateClusterConfig } from "../config/clusterConfig";
import { AdminCredentialPlan, planAdminCredential } from "../config/credentialRenewal";
import { buildRecord, DeploymentRecord } from "../config/deploymentRecord";
import { ROLE_GROUPS } from "../config/firewallRules";
import { sshUserFor } from "../config/images";
import { renderKubeconfig } from "../render/kubeconfigs";
import { Bastion } from "./bastionHost";
import { cloudSweep } from "./cloudSweep";
import { InstanceProfiles } from "./instanceProfiles";
import { createBootstrap } from "./bootstrap/createBootstrap";
import { rollGates } from "./bootstrap/rollNodes";
import { warnAboutExpiry } from "./certificateWarnings";
import { EtcdBackups } from "./etcdBackups";
import { ClusterApi } from "./clusterApi";
import { ADMIN_USER, ClientCertificate, issueClusterAdmins, OPERATIONS_USER } from "./credentials";
import { MachineImages } from "./machineImages";
import { typeToken } from "./naming";
import { Network } from "./network";
import { ClusterNode, Nodes } from "./nodes";
import { Pki } from "./pki";
import type { PreflightResult } from "./preflight";

export interface KubeadmClusterArgs {
  /** The cluster configuration; validated again here, so a plain object is fine. */
  readonly config: ClusterConfig | ClusterConfigInput;
  /** The result of `preflight(config)`: architectures, zones and each node's zone. */
  readonly preflight: PreflightResult;
  /**
   * Which admin certificate this run issues (config/credentialRenewal.ts), from the previous
   * deployment record; createKubeadmCluster computes it. Absent: a first issue, now.
   */
  readonly adminCredential?: AdminCredentialPlan;
  /** The stack's `aws:profile`, for the destroy sweep's own AWS calls. */
  readonly awsProfile?: string;
}

/** How long a destroy's sweep waits for AWS to let go of interfaces and volumes. */
const SWEEP_TIMEOUT_SECONDS = 600;

/** What the stack exports for each node. */
export interface NodeSummary {
  readonly name: string;
  readonly role: string;
  readonly availabilityZone: string;
  readonly privateIp: string;
  /** Egress only, in topology public; empty in topology private. */
  readonly publicIp: string;
  readonly nodeName: string;
}

export class KubeadmCluster extends pulumi.ComponentResource {
  public readonly config: ClusterConfig;
  /** Where operators reach the API: the public load balancer, or the private name. */
  public readonly apiEndpoint: pulumi.Output<string>;
  /** `https://api.<cluster>.k8s.internal:6443`, the controlPlaneEndpoint (inside the VPC). */
  public readonly privateApiEndpoint: string;
  public readonly vpcId: pulumi.Output<string>;
  public readonly nodes: pulumi.Output<NodeSummary[]>;
  public readonly sshUser: string;
  /** `ssh -J <bastionUser>@<bastionIp> <sshUser>@<privateIp>` reaches a node. */
  public readonly bastionIp: pulumi.Output<string>;
  public readonly bastionUser: string;
  /** OpenSSH private key of the nodes and the bastion (secret). */
  public readonly sshPrivateKey: pulumi.Output<string>;
  /**
   * Admin kubeconfig (secret), computed by the program: a client certificate in
   * kubeadm:cluster-admins; the server is the public load balancer (tls-server-name: the
   * private name), or the private name without publicApi.
   */
  public readonly kubeconfig: pulumi.Output<string>;
  /** When the admin certificate stops working (ISO 8601); an `up` in the last renewBeforeDays renews it. */
  public readonly kubeconfigExpiry: string;
  /** Where the etcd snapshots go (undefined with etcdBackup.enabled false). */
  public readonly etcdBackup?: {
    readonly bucket: pulumi.Output<string>;
    readonly prefix: string;
    readonly region: string;
    /** How often the leader snapshots: the drift report flags a snapshot older than twice this. */
    readonly intervalMinutes: number;
  };
  /**
   * What this deployment built, for the next run's checks: export it as the stack output
   * `deploymentRecord` (index.ts does), or pass it back through `createKubeadmCluster`'s
   * `readPrevious`.
   */
  public readonly deploymentRecord: DeploymentRecord;
  /**
   * The record as the stack output: during a rolling upgrade it resolves only once the cluster
   * is Ready at the new version, so a failed rollout leaves the last record (and its version) in
   * the stack and the next `up` resumes the same rollout. Otherwise it is the record at once.
   */
  public readonly deploymentRecordOutput: pulumi.Output<DeploymentRecord>;
  /** Child components, for programs that want to build on them. */
  public readonly network: Network;
  public readonly api: ClusterApi;
  public readonly bastion: Bastion;
  public readonly machines: Nodes;
  /** Every bootstrap command by resource name (tests, the benchmark and the render tool use it). */
  public readonly bootstrapCommands: ReadonlyMap<string, remote.Command>;
  /** Rendered kubeadm/CNI configuration files by relative path, for review (`npm run render`). */
  public readonly bootstrapArtifacts: ReadonlyMap<string, pulumi.Output<string>>;

  constructor(name: string, args: KubeadmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super(typeToken("KubeadmCluster"), name, {}, opts);
    const config = validateClusterConfig(args.config as ClusterConfigInput, pulumi.getStack());
    this.config = config;
    checkResolved(config, args.preflight);
    const { availabilityZones: zones, placement } = args.preflight;
    const adminPlan =
      args.adminCredential ?? planAdminCredential(undefined, config.adminKubeconfig, new Date());
    this.deploymentRecord = buildRecord(config, args.preflight.region, zones, placement, {
      generation: adminPlan.generation,
      issuedAt: adminPlan.issuedAt,
      validityDays: adminPlan.validityDays,
    });
    this.kubeconfigExpiry = adminPlan.notAfter;

    const pki = new Pki(`${name}-pki`, { clusterName: config.clusterName }, { parent: this });
    this.network = new Network(
      `${name}-net`,
      { ...config, availabilityZones: zones },
      { parent: this },
    );
    const sg = this.network.securityGroups.ids;
    const images = new MachineImages(this);
    const aws = config.cloudProvider === "aws";
    const profiles = new InstanceProfiles(
      `${name}-iam`,
      {
        clusterName: config.clusterName,
        region: args.preflight.region,
        vpcId: this.network.vpcId,
        cloudControllers: aws,
      },
      { parent: this },
    );
    // Deleted after the nodes and the bastion, before the network: what Kubernetes left in AWS.
    const sweep = aws
      ? cloudSweep(`${name}-aws-sweep`, {
          clusterName: config.clusterName,
          region: args.preflight.region,
          vpcId: this.network.vpcId,
          profile: args.awsProfile,
          timeoutSeconds: SWEEP_TIMEOUT_SECONDS,
          dependsOn: this.network.cloudResourceScope,
          parent: this,
        })
      : undefined;

    // A pending instance-type or image change: each rolling instance waits for its drain.
    const rollingGates = rollGates(args.preflight.roll);
    this.machines = new Nodes(
      `${name}-nodes`,
      {
        clusterName: config.clusterName,
        os: config.os,
        amiId: config.amiId,
        subnetIds: this.network.nodeSubnetIds,
        availabilityZones: zones,
        sshPublicKey: pki.sshPublicKey,
        publicAddresses: config.topology === "public",
        images,
        controlPlane: {
          ...config.controlPlane,
          architecture: args.preflight.controlPlaneArch,
          securityGroupIds: ROLE_GROUPS["control-plane"].map((g) => sg[g]!),
          zoneIndexes: placement.controlPlane,
          instanceProfile: profiles.names.controlPlane,
          metadataHopLimit: aws ? 2 : 1,
        },
        workers: {
          ...config.workers,
          architecture: args.preflight.workerArch,
          securityGroupIds: ROLE_GROUPS.worker.map((g) => sg[g]!),
          zoneIndexes: placement.workers,
          instanceProfile: profiles.names.workers,
          metadataHopLimit: 1,
        },
        rolling: rollingGates,
      },
      { parent: this, dependsOn: sweep ? [sweep] : [] },
    );
    this.bastion = new Bastion(
      `${name}-bastion`,
      {
        clusterName: config.clusterName,
        os: config.os,
        architecture: args.preflight.bastionArch,
        instanceType: config.bastion.instanceType,
        subnetId: this.network.publicSubnetIds[0]!,
        availabilityZone: zones[0]!,
        securityGroupId: sg.bastion!,
        keyName: this.machines.keyName,
        images,
        instanceProfile: profiles.names.bastion,
      },
      { parent: this, dependsOn: sweep ? [sweep] : [] },
    );
    this.api = new ClusterApi(
      `${name}-api`,
      {
        config,
        vpcId: this.network.vpcId,
        nodeSubnetIds: this.network.nodeSubnetIds,
        publicSubnetIds: this.network.publicSubnetIds,
        securityGroups: sg,
        controlPlanes: this.machines.controlPlanes,
      },
      { parent: this },
    );

    const allNodes: ClusterNode[] = [...this.machines.controlPlanes, ...this.machines.workers];
    this.sshUser = sshUserFor(config.os);
    this.sshPrivateKey = pki.sshPrivateKey;
    this.bastionIp = this.bastion.publicIp;
    this.bastionUser = this.bastion.sshUser;
    this.privateApiEndpoint = this.api.privateEndpoint;
    this.apiEndpoint = this.api.operatorServer;

    const admins = issueClusterAdmins(config.clusterName, pki.clusterCa, adminPlan, this);
    const caAdvice =
      "the program does not rotate a CA (every certificate of the cluster hangs off it); plan a new cluster, or rotate it by hand (kubeadm: Manual rotation of CA certificates)";
    warnAboutExpiry([
      { what: "the cluster CA", certPem: pki.clusterCa.certPem, whatToDo: caAdvice },
      { what: "the etcd CA", certPem: pki.etcdCa.certPem, whatToDo: caAdvice },
      { what: "the front-proxy CA", certPem: pki.frontProxyCa.certPem, whatToDo: caAdvice },
      {
        what: "the admin kubeconfig's certificate",
        certPem: admins.admin.certPem,
        whatToDo: `an \`up\` within adminKubeconfig.renewBeforeDays (${config.adminKubeconfig.renewBeforeDays}) of its end issues a new one`,
      },
      {
        what: "the program's own operations certificate",
        certPem: admins.operations.certPem,
        whatToDo: "an `up` renews it together with the admin kubeconfig's",
      },
    ]);
    const backups = config.etcdBackup.enabled
      ? new EtcdBackups(
          `${name}-etcd-backups`,
          {
            clusterName: config.clusterName,
            config: config.etcdBackup,
            controlPlaneRole: profiles.roles.controlPlane,
          },
          { parent: this },
        )
      : undefined;
    this.etcdBackup = backups
      ? {
          bucket: backups.bucketName,
          prefix: backups.prefix,
          region: args.preflight.region,
          intervalMinutes: config.etcdBackup.intervalMinutes,
        }
      : undefined;
    const kubeconfigFor = (
      cert: ClientCertificate,
      userName: string,
      server: pulumi.Input<string>,
    ): pulumi.Output<string> =>
      pulumi.secret(
        pulumi
          .all([server, pki.clusterCa.certPem, cert.certPem, cert.keyPem])
          .apply(([url, caCertPem, clientCertPem, clientKeyPem]) =>
            renderKubeconfig({
              clusterName: config.clusterName,
              server: url,
              // Another address of the same API: the certificate names the private name.
              tlsServerName: url === this.privateApiEndpoint ? undefined : this.api.privateName,
              userName,
              caCertPem,
              clientCertPem,
              clientKeyPem,
            }),
          ),
      );
    this.kubeconfig = kubeconfigFor(admins.admin, ADMIN_USER, this.api.operatorServer);

    const bootstrap = createBootstrap(name, {
      config,
      controlPlanes: this.machines.controlPlanes,
      workers: this.machines.workers,
      sshUser: this.sshUser,
      sshPrivateKey: pki.sshPrivateKey,
      bastion: {
        host: this.bastion.publicIp,
        user: this.bastion.sshUser,
        instanceId: this.bastion.instanceId,
      },
      apiEndpointHost: this.api.privateName,
      pki,
      operationsKubeconfig: kubeconfigFor(
        admins.operations,
        OPERATIONS_USER,
        this.privateApiEndpoint,
      ),
      networkPath: [...this.network.pathResources, ...this.bastion.pathResources],
      apiPath: this.api.workerPath,
      clusterAnchor: this.network.vpc,
      region: args.preflight.region,
      upgrade: args.preflight.upgrade,
      backups: backups
        ? {
            bucket: backups.bucketName,
            prefix: backups.prefix,
            region: args.preflight.region,
            intervalMinutes: config.etcdBackup.intervalMinutes,
          }
        : undefined,
      roll: args.preflight.roll ? { plan: args.preflight.roll, gates: rollingGates } : undefined,
      parent: this,
    });
    // The stack registers all its outputs in one call once every one of them resolves
    // (pulumi/pulumi v3.248.0 sdk/nodejs/runtime/resource.ts registerResourceOutputs awaits
    // serializeProperties of the whole object), and the root's old outputs stay until then
    // (previousDeployment.ts): gating the record on cluster-ready gates the whole set.
    const record = this.deploymentRecord;
    this.deploymentRecordOutput =
      args.preflight.upgrade || args.preflight.roll
        ? bootstrap.clusterReady.id.apply(() => record)
        : pulumi.output(record);
    this.bootstrapCommands = bootstrap.commands;
    this.bootstrapArtifacts = bootstrap.artifacts;
    this.vpcId = this.network.vpcId;
    this.nodes = nodeSummaries(allNodes);
    this.registerOutputs({
      apiEndpoint: this.apiEndpoint,
      privateApiEndpoint: this.privateApiEndpoint,
      vpcId: this.vpcId,
      nodes: this.nodes,
      sshUser: this.sshUser,
      bastionIp: this.bastionIp,
      bastionUser: this.bastionUser,
      sshPrivateKey: this.sshPrivateKey,
      kubeconfig: this.kubeconfig,
      kubeconfigExpiry: this.kubeconfigExpiry,
      etcdBackup: this.etcdBackup,
      deploymentRecord: this.deploymentRecordOutput,
    });
  }
}

/** The component builds from resolved input only: my-ip replaced, the zones checked. */
function checkResolved(config: ClusterConfig, preflight: PreflightResult): void {
  if (usesMyIp(config)) {
    throw new Error(
      `the ingress CIDRs contain ${MY_IP}: resolve it first with resolveMyIp(config)`,
    );
  }
  if (preflight.availabilityZones.length !== config.availabilityZoneCount) {
    throw new Error(
      `preflight returned ${preflight.availabilityZones.length} zones but availabilityZoneCount is ${config.availabilityZoneCount}`,
    );
  }
}

function nodeSummaries(nodes: readonly ClusterNode[]): pulumi.Output<NodeSummary[]> {
  return pulumi.all(
    nodes.map((n) =>
      pulumi
        .all([n.privateIp, n.publicIp, n.privateDns])
        .apply(([privateIp, publicIp, nodeName]) => ({
          name: n.name,
          role: n.role,
          availabilityZone: n.availabilityZone,
          privateIp,
          publicIp: publicIp ?? "",
          nodeName,
        })),
    ),
  );
}
