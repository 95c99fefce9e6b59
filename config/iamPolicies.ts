/**
 * The instance profiles' permissions, as IAM policy documents (pure data; components/
 * instanceProfiles.ts turns them into roles). Least privilege for what runs where:
 *
 * - Control planes run the AWS cloud controller manager (host network) and the EBS CSI
 *   controller. Their policy is cloud-provider-aws's documented control-plane policy
 *   (docs/prerequisites.md, at v1.34.3/v1.35.2) plus the EBS CSI driver's
 *   (docs/example-iam-policy.json, v1.63.1), scoped:
 *   - Describe calls, which take no resource-level permissions, on `*`;
 *   - every other action on the ARNs of its resource type in this account and region, and where
 *     the resource already exists when the call is made, only on resources tagged for this
 *     cluster (`kubernetes.io/cluster/<name>`) or made by the CSI driver (its own conditions);
 *   - dropped from the documented policy: the volume actions of the in-tree volume plugin (the
 *     CSI statements cover volumes), CreateRoute/DeleteRoute (the route controller is off) and
 *     kms:DescribeKey (volumes use the account's default EBS key).
 * - Workers get no permission: with the external cloud provider the kubelet calls no AWS API,
 *   the CSI node plugin reads its instance from the Kubernetes API, and no image comes from ECR.
 * - The bastion gets none either.
 */

export interface PolicyStatement {
  readonly Sid: string;
  readonly Effect: "Allow";
  readonly Action: readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: Readonly<
    Record<string, Readonly<Record<string, string | readonly string[]>>>
  >;
}

export interface PolicyDocument {
  readonly Version: "2012-10-17";
  readonly Statement: readonly PolicyStatement[];
}

export interface PolicyScope {
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
  readonly clusterName: string;
  readonly vpcId: string;
}

/**
 * Actions that take no resource-level permissions, so `Resource: "*"` is the only form AWS
 * accepts (Service Authorization Reference: the Describe* actions of Amazon EC2, Elastic Load
 * Balancing and Auto Scaling list no resource types). Nothing else may use `*`.
 */
export const UNSCOPED_DESCRIBE_ACTIONS: readonly string[] = [
  "autoscaling:DescribeAutoScalingGroups",
  "autoscaling:DescribeLaunchConfigurations",
  "autoscaling:DescribeTags",
  "ec2:DescribeAvailabilityZones",
  "ec2:DescribeInstances",
  "ec2:DescribeInstanceTopology",
  "ec2:DescribeInstanceTypes",
  "ec2:DescribeRegions",
  "ec2:DescribeRouteTables",
  "ec2:DescribeSecurityGroups",
  "ec2:DescribeSnapshots",
  "ec2:DescribeSubnets",
  "ec2:DescribeTags",
  "ec2:DescribeVolumes",
  "ec2:DescribeVolumesModifications",
  "ec2:DescribeVolumeStatus",
  "ec2:DescribeVpcs",
  "elasticloadbalancing:DescribeListeners",
  "elasticloadbalancing:DescribeLoadBalancerAttributes",
  "elasticloadbalancing:DescribeLoadBalancerPolicies",
  "elasticloadbalancing:DescribeLoadBalancers",
  "elasticloadbalancing:DescribeTargetGroups",
  "elasticloadbalancing:DescribeTargetHealth",
];

/** The cloud controller's load balancer actions (classic and v2), from its documented policy. */
const LOAD_BALANCER_ACTIONS = [
  "AddTags",
  "ApplySecurityGroupsToLoadBalancer",
  "AttachLoadBalancerToSubnets",
  "ConfigureHealthCheck",
  "CreateListener",
  "CreateLoadBalancer",
  "CreateLoadBalancerListeners",
  "CreateLoadBalancerPolicy",
  "CreateTargetGroup",
  "DeleteListener",
  "DeleteLoadBalancer",
  "DeleteLoadBalancerListeners",
  "DeleteTargetGroup",
  "DeregisterInstancesFromLoadBalancer",
  "DeregisterTargets",
  "DetachLoadBalancerFromSubnets",
  "ModifyListener",
  "ModifyLoadBalancerAttributes",
  "ModifyTargetGroup",
  "RegisterInstancesWithLoadBalancer",
  "RegisterTargets",
  "SetLoadBalancerPoliciesForBackendServer",
  "SetLoadBalancerPoliciesOfListener",
  "SetSecurityGroups",
].map((a) => `elasticloadbalancing:${a}`);

export function controlPlanePolicy(s: PolicyScope): PolicyDocument {
  const ec2 = (type: string) => `arn:${s.partition}:ec2:${s.region}:${s.accountId}:${type}`;
  const elb = (type: string) =>
    `arn:${s.partition}:elasticloadbalancing:${s.region}:${s.accountId}:${type}`;
  const clusterTagged = {
    StringEquals: { [`aws:ResourceTag/kubernetes.io/cluster/${s.clusterName}`]: "owned" },
  };
  const volumes = ec2("volume/*");
  const snapshots = ec2("snapshot/*");
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "Describe",
        Effect: "Allow",
        Action: UNSCOPED_DESCRIBE_ACTIONS,
        Resource: "*",
      },
      // The cloud controller: a security group per classic load balancer, in this VPC.
      {
        Sid: "CreateLoadBalancerSecurityGroups",
        Effect: "Allow",
        Action: ["ec2:CreateSecurityGroup"],
        Resource: [ec2("security-group/*"), ec2(`vpc/${s.vpcId}`)],
      },
      {
        Sid: "TagSecurityGroups",
        Effect: "Allow",
        Action: ["ec2:CreateTags"],
        Resource: [ec2("security-group/*")],
      },
      // Rules on the nodes' group and on its own groups; both carry the cluster tag.
      {
        Sid: "ClusterSecurityGroups",
        Effect: "Allow",
        Action: [
          "ec2:AuthorizeSecurityGroupIngress",
          "ec2:DeleteSecurityGroup",
          "ec2:RevokeSecurityGroupIngress",
        ],
        Resource: [ec2("security-group/*")],
        Condition: clusterTagged,
      },
      {
        Sid: "ClusterInstances",
        Effect: "Allow",
        Action: ["ec2:ModifyInstanceAttribute"],
        Resource: [ec2("instance/*")],
        Condition: clusterTagged,
      },
      {
        Sid: "LoadBalancers",
        Effect: "Allow",
        Action: LOAD_BALANCER_ACTIONS,
        Resource: [
          elb("loadbalancer/*"),
          elb("targetgroup/*/*"),
          elb("listener/*"),
          elb("listener-rule/*"),
        ],
      },
      {
        Sid: "LoadBalancingServiceLinkedRole",
        Effect: "Allow",
        Action: ["iam:CreateServiceLinkedRole"],
        Resource: `arn:${s.partition}:iam::${s.accountId}:role/aws-service-role/elasticloadbalancing.amazonaws.com/*`,
        Condition: { StringEquals: { "iam:AWSServiceName": "elasticloadbalancing.amazonaws.com" } },
      },
      // The EBS CSI controller, as its example policy scopes it.
      {
        Sid: "CsiVolumesAndSnapshots",
        Effect: "Allow",
        Action: ["ec2:CreateSnapshot", "ec2:ModifyVolume"],
        Resource: volumes,
      },
      {
        Sid: "CsiAttach",
        Effect: "Allow",
        Action: ["ec2:AttachVolume", "ec2:DetachVolume"],
        Resource: [volumes, ec2("instance/*")],
      },
      {
        Sid: "CsiVolumeFromSnapshot",
        Effect: "Allow",
        Action: ["ec2:CreateVolume", "ec2:EnableFastSnapshotRestores"],
        Resource: snapshots,
      },
      {
        Sid: "CsiTagOnCreate",
        Effect: "Allow",
        Action: ["ec2:CreateTags"],
        Resource: [volumes, snapshots],
        Condition: {
          StringEquals: { "ec2:CreateAction": ["CreateVolume", "CreateSnapshot", "CopyVolumes"] },
        },
      },
      {
        Sid: "CsiUntag",
        Effect: "Allow",
        Action: ["ec2:DeleteTags"],
        Resource: [volumes, snapshots],
      },
      {
        Sid: "CsiCreateVolume",
        Effect: "Allow",
        Action: ["ec2:CopyVolumes", "ec2:CreateVolume"],
        Resource: volumes,
        Condition: { StringLike: { "aws:RequestTag/ebs.csi.aws.com/cluster": "true" } },
      },
      {
        Sid: "CsiDeleteVolume",
        Effect: "Allow",
        Action: ["ec2:DeleteVolume"],
        Resource: volumes,
        Condition: { StringLike: { "ec2:ResourceTag/ebs.csi.aws.com/cluster": "true" } },
      },
      {
        Sid: "CsiCreateSnapshot",
        Effect: "Allow",
        Action: ["ec2:CreateSnapshot"],
        Resource: snapshots,
        Condition: { StringLike: { "aws:RequestTag/ebs.csi.aws.com/cluster": "true" } },
      },
      {
        Sid: "CsiDeleteSnapshot",
        Effect: "Allow",
        Action: ["ec2:DeleteSnapshot", "ec2:LockSnapshot"],
        Resource: snapshots,
        Condition: { StringLike: { "ec2:ResourceTag/ebs.csi.aws.com/cluster": "true" } },
      },
    ],
  };
}

/** A role's trust policy: EC2 may take it, for an instance profile (`ec2.<partition DNS suffix>`). */
export function ec2TrustPolicy(dnsSuffix: string) {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: `ec2.${dnsSuffix}` },
        Action: "sts:AssumeRole",
      },
    ],
  } as const;
}

/** Where the control planes write etcd snapshots in the cluster's backup bucket. */
export function etcdSnapshotPrefix(clusterName: string): string {
  return `${clusterName}/etcd/`;
}

/**
 * The control planes' write access to the backup bucket: `s3:PutObject` on the cluster's
 * snapshot prefix only. No read, list or delete: a compromised control plane cannot read the
 * snapshots (they hold every Secret) or destroy them (versioning keeps every overwrite, and only
 * the lifecycle rule expires them). The restore reads with the operator's own credentials.
 */
export function etcdBackupPolicy(bucketArn: string, clusterName: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "WriteEtcdSnapshots",
        Effect: "Allow",
        Action: ["s3:PutObject"],
        Resource: `${bucketArn}/${etcdSnapshotPrefix(clusterName)}*`,
      },
    ],
  };
}
