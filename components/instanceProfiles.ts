/**
 * InstanceProfiles: an IAM role and instance profile per kind of instance (control planes,
 * workers, the bastion), with the permissions of config/iamPolicies.ts: the control planes' for
 * the AWS cloud controller manager and the EBS CSI controller (cloudProvider aws), none for the
 * workers and the bastion. Every instance has a profile, so a permission needed later (backups,
 * say) is a change to a role's policy, not to any instance.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { controlPlanePolicy, ec2TrustPolicy } from "../config/iamPolicies";
import { clusterTags, typeToken } from "./naming";

export interface InstanceProfilesArgs {
  readonly clusterName: string;
  readonly region: string;
  readonly vpcId: pulumi.Input<string>;
  /** The control planes run the AWS add-ons' controllers, which need their permissions. */
  readonly cloudControllers: boolean;
}

export type ProfileRole = "controlPlane" | "workers" | "bastion";

export class InstanceProfiles extends pulumi.ComponentResource {
  public readonly names: Readonly<Record<ProfileRole, pulumi.Output<string>>>;
  public readonly roles: Readonly<Record<ProfileRole, aws.iam.Role>>;

  constructor(name: string, args: InstanceProfilesArgs, opts?: pulumi.ComponentResourceOptions) {
    super(typeToken("InstanceProfiles"), name, {}, opts);
    const parent = { parent: this };
    const partition = aws.getPartitionOutput({}, parent);
    const account = aws.getCallerIdentityOutput({}, parent);
    const trust = partition.dnsSuffix.apply((suffix) => JSON.stringify(ec2TrustPolicy(suffix)));

    const make = (role: ProfileRole) => {
      // IAM names are global to the account: the cluster name keeps clusters apart.
      const roleName = `${args.clusterName}-${role}`;
      const iamRole = new aws.iam.Role(
        `${name}-${role}`,
        {
          name: roleName,
          assumeRolePolicy: trust,
          description: `kubeadm-aws ${args.clusterName}: ${role} instances`,
          tags: clusterTags(args.clusterName),
        },
        parent,
      );
      const profile = new aws.iam.InstanceProfile(
        `${name}-${role}`,
        { name: roleName, role: iamRole.name, tags: clusterTags(args.clusterName) },
        parent,
      );
      return { iamRole, profile };
    };
    const cp = make("controlPlane");
    const workers = make("workers");
    const bastion = make("bastion");
    if (args.cloudControllers) {
      new aws.iam.RolePolicy(
        `${name}-controlPlane-cloud-controllers`,
        {
          role: cp.iamRole.name,
          policy: pulumi
            .all([partition.partition, account.accountId, args.vpcId])
            .apply(([p, accountId, vpcId]) =>
              JSON.stringify(
                controlPlanePolicy({
                  partition: p,
                  region: args.region,
                  accountId,
                  clusterName: args.clusterName,
                  vpcId,
                }),
              ),
            ),
        },
        parent,
      );
    }
    this.names = {
      controlPlane: cp.profile.name,
      workers: workers.profile.name,
      bastion: bastion.profile.name,
    };
    this.roles = { controlPlane: cp.iamRole, workers: workers.iamRole, bastion: bastion.iamRole };
    this.registerOutputs({ names: this.names });
  }
}
