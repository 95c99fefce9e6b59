/**
 * Nodes: the EC2 instances of the cluster. Images are looked up per OS and per CPU
 * architecture (amd64 and arm64/Graviton). Each node goes to the zone index its placement gives
 * (preflight: a node keeps its zone for life; new ones spread per role), IMDSv2 is required and
 * root volumes are encrypted gp3.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { NodeGroupConfig, NodeRole, OperatingSystem } from "../config/clusterConfig";
import { Ec2Architecture, imageQuery } from "../config/images";
import { clusterTags, typeToken } from "./naming";

export type { NodeRole };

export interface NodeGroupArgs extends NodeGroupConfig {
  readonly architecture: Ec2Architecture;
  readonly securityGroupIds: pulumi.Input<string>[];
  /** Zone index of each node of the group (length = count). */
  readonly zoneIndexes: readonly number[];
}

export interface NodesArgs {
  readonly clusterName: string;
  readonly os: OperatingSystem;
  /** Overrides the image lookup for every node. */
  readonly amiId?: string;
  readonly subnetIds: pulumi.Input<string>[];
  readonly availabilityZones: readonly string[];
  readonly sshPublicKey: pulumi.Input<string>;
  readonly controlPlane: NodeGroupArgs;
  readonly workers: NodeGroupArgs;
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

    const images = new Map<Ec2Architecture, pulumi.Output<string>>();
    const imageFor = (arch: Ec2Architecture): pulumi.Output<string> => {
      if (args.amiId) return pulumi.output(args.amiId);
      if (!images.has(arch)) {
        const q = imageQuery(args.os, arch);
        images.set(
          arch,
          aws.ec2
            .getAmiOutput(
              {
                mostRecent: true,
                owners: [q.owner],
                filters: [
                  { name: "name", values: [q.namePattern] },
                  { name: "architecture", values: [arch] },
                  { name: "virtualization-type", values: ["hvm"] },
                  { name: "root-device-type", values: ["ebs"] },
                ],
              },
              { parent: this },
            )
            .apply((ami) => ami.id),
        );
      }
      return images.get(arch)!;
    };

    const group = (role: NodeRole, g: NodeGroupArgs, label: string): ClusterNode[] =>
      Array.from({ length: g.count }, (_, index) => {
        const zone = g.zoneIndexes[index];
        if (zone === undefined || zone >= args.availabilityZones.length) {
          throw new Error(`${label}-${index} has no zone (placement ${g.zoneIndexes.join(",")})`);
        }
        const nodeName = `${args.clusterName}-${label}-${index}`;
        const instance = new aws.ec2.Instance(
          `${name}-${label}-${index}`,
          {
            ami: imageFor(g.architecture),
            instanceType: g.instanceType,
            subnetId: args.subnetIds[zone]!,
            availabilityZone: args.availabilityZones[zone]!,
            vpcSecurityGroupIds: g.securityGroupIds,
            keyName: keyPair.keyName,
            associatePublicIpAddress: true,
            metadataOptions: {
              httpEndpoint: "enabled",
              httpTokens: "required",
              // 1 keeps pods (one network hop further) away from the instance's credentials.
              httpPutResponseHopLimit: 1,
            },
            rootBlockDevice: {
              volumeType: "gp3",
              volumeSize: g.rootVolumeSizeGiB,
              encrypted: true,
              deleteOnTermination: true,
            },
            tags: clusterTags(args.clusterName, {
              Name: nodeName,
              "kubeadm-aws/role": role,
            }),
            volumeTags: clusterTags(args.clusterName, { Name: nodeName }),
          },
          {
            parent: this,
            // A newer image must not replace running nodes behind the user's back: it applies
            // to nodes created from now on. Replacing a node is an explicit `--replace`.
            ignoreChanges: ["ami"],
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
