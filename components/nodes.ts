/**
 * Nodes: the EC2 instances of the cluster. Images are looked up per OS and per CPU
 * architecture (amd64 and arm64/Graviton). Each node goes to the zone index its placement gives
 * (preflight: a node keeps its zone for life; new ones spread per role), IMDSv2 is required and
 * root volumes are encrypted gp3.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { NodeGroupConfig, NodeRole, OperatingSystem } from "../config/clusterConfig";
import type { Ec2Architecture } from "../config/images";
import { encryptedRoot, IMDS_V2_ONLY } from "./instanceHardening";
import type { MachineImages } from "./machineImages";
import { clusterTags, kubernetesClusterTag, typeToken } from "./naming";

export type { NodeRole };

export interface NodeGroupArgs extends NodeGroupConfig {
  readonly architecture: Ec2Architecture;
  readonly securityGroupIds: pulumi.Input<string>[];
  /** Zone index of each node of the group (length = count). */
  readonly zoneIndexes: readonly number[];
  /** The group's instance profile (components/instanceProfiles.ts). */
  readonly instanceProfile: pulumi.Input<string>;
  /**
   * IMDS hops a metadata request may take: 1 keeps pods from the instance's credentials; 2 only
   * where a controller in the pod network uses them (instanceHardening.ts).
   */
  readonly metadataHopLimit: 1 | 2;
}

export interface NodesArgs {
  readonly clusterName: string;
  readonly os: OperatingSystem;
  /** Overrides the image lookup for every node. */
  readonly amiId?: string;
  readonly subnetIds: pulumi.Input<string>[];
  readonly availabilityZones: readonly string[];
  readonly sshPublicKey: pulumi.Input<string>;
  /** Public topology: nodes get a public address (egress only). */
  readonly publicAddresses: boolean;
  readonly images: MachineImages;
  readonly controlPlane: NodeGroupArgs;
  readonly workers: NodeGroupArgs;
  /**
   * Nodes of a pending rolling change (bootstrap/rollNodes.ts), by logical name: each instance
   * waits for its drain, and a node that is replaced takes the new image.
   */
  readonly rolling?: ReadonlyMap<
    string,
    { readonly replace: boolean; readonly after: Promise<pulumi.Resource[]> }
  >;
}

/** One node as the rest of the program sees it. */
export interface ClusterNode {
  /** Logical name, stable across updates: `<cluster>-cp-0`, `<cluster>-worker-2`. */
  readonly name: string;
  readonly role: NodeRole;
  readonly index: number;
  readonly availabilityZone: string;
  readonly instance: aws.ec2.Instance;
  readonly privateIp: pulumi.Output<string>;
  readonly publicIp: pulumi.Output<string>;
  /** EC2 private DNS name, used as the Kubernetes node name. */
  readonly privateDns: pulumi.Output<string>;
}

export class Nodes extends pulumi.ComponentResource {
  public readonly controlPlanes: ClusterNode[];
  public readonly workers: ClusterNode[];
  public readonly keyName: pulumi.Output<string>;

  constructor(name: string, args: NodesArgs, opts?: pulumi.ComponentResourceOptions) {
    super(typeToken("Nodes"), name, {}, opts);

    const keyPair = new aws.ec2.KeyPair(
      `${name}-ssh`,
      { publicKey: args.sshPublicKey, tags: clusterTags(args.clusterName) },
      { parent: this },
    );
    this.keyName = keyPair.keyName;

    const imageFor = (arch: Ec2Architecture) => args.images.imageFor(args.os, arch, args.amiId);

    const group = (role: NodeRole, g: NodeGroupArgs, label: string): ClusterNode[] =>
      Array.from({ length: g.count }, (_, index) => {
        const zone = g.zoneIndexes[index];
        if (zone === undefined || zone >= args.availabilityZones.length) {
          throw new Error(`${label}-${index} has no zone (placement ${g.zoneIndexes.join(",")})`);
        }
        const nodeName = `${args.clusterName}-${label}-${index}`;
        const rolling = args.rolling?.get(nodeName);
        const instance = new aws.ec2.Instance(
          `${name}-${label}-${index}`,
          {
            ami: imageFor(g.architecture),
            instanceType: g.instanceType,
            subnetId: args.subnetIds[zone]!,
            availabilityZone: args.availabilityZones[zone]!,
            vpcSecurityGroupIds: g.securityGroupIds,
            keyName: keyPair.keyName,
            // Public topology: an address for egress only (the nodes' group admits nothing from
            // the internet). Private topology: none; egress goes through the NAT gateways.
            associatePublicIpAddress: args.publicAddresses,
            metadataOptions: { ...IMDS_V2_ONLY, httpPutResponseHopLimit: g.metadataHopLimit },
            iamInstanceProfile: g.instanceProfile,
            rootBlockDevice: encryptedRoot(g.rootVolumeSizeGiB),
            tags: clusterTags(args.clusterName, {
              Name: nodeName,
              "kubeadm-aws/role": role,
              ...kubernetesClusterTag(args.clusterName),
            }),
            volumeTags: clusterTags(args.clusterName, { Name: nodeName }),
          },
          {
            parent: this,
            // A newer image must not replace running nodes behind the user's back: it applies
            // to nodes created from now on. Replacing a node is an explicit `--replace`, or a
            // worker's turn in a rolling image change.
            ignoreChanges: rolling?.replace ? [] : ["ami"],
            // Only during a rolling change: the node is drained before its instance changes.
            ...(rolling ? { dependsOn: rolling.after } : {}),
          },
        );
        return {
          name: nodeName,
          role,
          index,
          availabilityZone: args.availabilityZones[zone]!,
          instance,
          privateIp: instance.privateIp,
          publicIp: instance.publicIp,
          privateDns: instance.privateDns,
        };
      });

    this.controlPlanes = group("control-plane", args.controlPlane, "cp");
    this.workers = group("worker", args.workers, "worker");

    this.registerOutputs({
      keyName: this.keyName,
      instanceIds: [...this.controlPlanes, ...this.workers].map((n) => n.instance.id),
    });
  }
}
