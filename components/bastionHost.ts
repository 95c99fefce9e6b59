/**
 * Bastion: the one machine that accepts SSH from sshIngressCidrs. Every remote step connects to
 * a node's private address with the bastion as its SSH proxy (`connection.proxy` of
 * @pulumi/command 1.x), and operators use it with `ssh -J`. A small instance in a public subnet
 * with an Elastic IP: the address Pulumi's connections name never changes, not on a stop/start,
 * not when the bastion is replaced. The bastion holds nothing of the cluster's (no key, no
 * kubeconfig): replacing it (`pulumi up --replace`) changes nothing in the cluster.
 *
 * It runs the nodes' OS (its SSH user is theirs). Its user data (no secret in it) raises sshd's
 * connection limits for the many parallel proxied commands, for ssh.service or, on the RHEL
 * family, sshd.service (render/bastion.ts). IMDSv2 with hop limit 1, an encrypted root volume.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { OperatingSystem } from "../config/clusterConfig";
import { Ec2Architecture, sshUserFor } from "../config/images";
import { packageManagerOf } from "../config/osFamily";
import { renderBastionUserData } from "../render/bastion";
import { encryptedRoot, IMDS_V2_ONLY } from "./instanceHardening";
import type { MachineImages } from "./machineImages";
import { clusterTags, typeToken } from "./naming";

export interface BastionArgs {
  readonly clusterName: string;
  readonly os: OperatingSystem;
  readonly architecture: Ec2Architecture;
  readonly instanceType: string;
  /** A public subnet (zone index 0). */
  readonly subnetId: pulumi.Input<string>;
  readonly availabilityZone: string;
  readonly securityGroupId: pulumi.Input<string>;
  readonly keyName: pulumi.Input<string>;
  readonly images: MachineImages;
  /** An instance profile without permissions (components/instanceProfiles.ts). */
  readonly instanceProfile: pulumi.Input<string>;
}

export class Bastion extends pulumi.ComponentResource {
  /** The Elastic IP: what every remote step's proxy and every operator's `ssh -J` names. */
  public readonly publicIp: pulumi.Output<string>;
  public readonly sshUser: string;
  /** Its id triggers the bastion's own steps (kubectl), so a replaced bastion gets them again. */
  public readonly instanceId: pulumi.Output<string>;
  /** What a connection through the bastion depends on (instance and address association). */
  public readonly pathResources: pulumi.Resource[];

  constructor(name: string, args: BastionArgs, opts?: pulumi.ComponentResourceOptions) {
    super(typeToken("Bastion"), name, {}, opts);
    const tags = clusterTags(args.clusterName, {
      Name: `${args.clusterName}-bastion`,
      "kubeadm-aws/role": "bastion",
    });
    const instance = new aws.ec2.Instance(
      name,
      {
        ami: args.images.imageFor(args.os, args.architecture),
        instanceType: args.instanceType,
        subnetId: args.subnetId,
        availabilityZone: args.availabilityZone,
        vpcSecurityGroupIds: [args.securityGroupId],
        keyName: args.keyName,
        // The Elastic IP is the bastion's address; none other is needed.
        associatePublicIpAddress: false,
        userData: renderBastionUserData(packageManagerOf(args.os)),
        userDataReplaceOnChange: false,
        metadataOptions: IMDS_V2_ONLY,
        iamInstanceProfile: args.instanceProfile,
        rootBlockDevice: encryptedRoot(8),
        tags,
        volumeTags: tags,
      },
      // A newer image must not replace the bastion while steps run through it; replace it on
      // purpose with `pulumi up --replace`.
      { parent: this, ignoreChanges: ["ami"] },
    );
    const eip = new aws.ec2.Eip(name, { domain: "vpc", tags }, { parent: this });
    const association = new aws.ec2.EipAssociation(
      name,
      { allocationId: eip.id, instanceId: instance.id },
      { parent: this },
    );
    this.publicIp = eip.publicIp;
    this.sshUser = sshUserFor(args.os);
    this.instanceId = instance.id;
    this.pathResources = [instance, association];
    this.registerOutputs({ publicIp: this.publicIp, sshUser: this.sshUser });
  }
}
