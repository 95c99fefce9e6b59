/**
 * EtcdBackups: the cluster's S3 bucket for etcd snapshots, and the control planes' permission
 * to write into it (config/iamPolicies.ts etcdBackupPolicy: PutObject on the cluster's prefix).
 *
 * The bucket: encrypted (SSE-S3), every public access blocked, versioned, TLS-only, snapshots and
 * their older versions expired after `retentionDays`. It outlives `pulumi destroy` unless
 * `etcdBackup.deleteOnDestroy` is true: every resource here is `retainOnDelete` then, so the
 * engine forgets them without deleting (pulumi/pulumi v3.248.0 pkg/resource/deploy/step.go
 * DeleteStep.Apply skips the provider's Delete for a retained resource), and the bucket keeps
 * its protection too. With deleteOnDestroy, `forceDestroy` empties it first.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { EtcdBackupConfig } from "../config/clusterConfig";
import { etcdBackupPolicy, etcdSnapshotPrefix } from "../config/iamPolicies";
import { clusterTags, typeToken } from "./naming";

export interface EtcdBackupsArgs {
  readonly clusterName: string;
  readonly config: EtcdBackupConfig;
  /** The control planes' role: it gets write access to the snapshot prefix. */
  readonly controlPlaneRole: aws.iam.Role;
}

export class EtcdBackups extends pulumi.ComponentResource {
  public readonly bucketName: pulumi.Output<string>;
  /** Where snapshots go: `<cluster>/etcd/`. */
  public readonly prefix: string;

  constructor(name: string, args: EtcdBackupsArgs, opts?: pulumi.ComponentResourceOptions) {
    super(typeToken("EtcdBackups"), name, {}, opts);
    const keep = !args.config.deleteOnDestroy;
    const o = { parent: this, retainOnDelete: keep };
    const bucket = new aws.s3.Bucket(
      `${name}-bucket`,
      {
        // A generated suffix: bucket names are global, and a retained bucket of an earlier
        // cluster of the same name must not block a new one.
        bucketPrefix: `${args.clusterName}-etcd-`,
        forceDestroy: args.config.deleteOnDestroy,
        tags: clusterTags(args.clusterName, { "kubeadm-aws/purpose": "etcd-snapshots" }),
      },
      o,
    );
    const blocked = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      {
        bucket: bucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      o,
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      {
        bucket: bucket.id,
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
      },
      o,
    );
    const versioning = new aws.s3.BucketVersioning(
      `${name}-versioning`,
      { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
      o,
    );
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      {
        bucket: bucket.id,
        rules: [
          {
            id: "expire-etcd-snapshots",
            status: "Enabled",
            filter: { prefix: etcdSnapshotPrefix(args.clusterName) },
            expiration: { days: args.config.retentionDays },
            noncurrentVersionExpiration: { noncurrentDays: args.config.retentionDays },
            abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
          },
        ],
      },
      { ...o, dependsOn: [versioning] },
    );
    new aws.s3.BucketPolicy(
      `${name}-tls-only`,
      {
        bucket: bucket.id,
        policy: bucket.arn.apply((arn) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                Sid: "DenyInsecureTransport",
                Effect: "Deny",
                Principal: "*",
                Action: "s3:*",
                Resource: [arn, `${arn}/*`],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
              },
            ],
          }),
        ),
      },
      // After the public access block: S3 refuses a policy while it would judge it public.
      { ...o, dependsOn: [blocked] },
    );
    new aws.iam.RolePolicy(
      `${name}-write`,
      {
        role: args.controlPlaneRole.name,
        policy: bucket.arn.apply((arn) => JSON.stringify(etcdBackupPolicy(arn, args.clusterName))),
      },
      { parent: this },
    );
    this.bucketName = bucket.bucket;
    this.prefix = etcdSnapshotPrefix(args.clusterName);
    this.registerOutputs({ bucketName: this.bucketName });
  }
}
