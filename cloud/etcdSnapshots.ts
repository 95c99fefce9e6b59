/**
 * The backup bucket on the AWS SDK for JavaScript v3, with the credentials of whoever runs the
 * tool (the SDK's default chain), for `npm run etcd-restore` and `etcd-snapshot`
 * (tools/etcdRestore.ts SnapshotStore). Listing is paginated; the sha256 the snapshot job
 * recorded at upload comes back as the object's `sha256` metadata.
 */
import { GetObjectCommand, paginateListObjectsV2, S3Client } from "@aws-sdk/client-s3";

export interface S3SnapshotStore {
  keys(bucket: string, prefix: string): Promise<string[]>;
  fetch(bucket: string, key: string): Promise<{ body: Buffer; sha256?: string }>;
}

export function s3SnapshotStore(region: string, profile?: string): S3SnapshotStore {
  const client = new S3Client({ region, ...(profile ? { profile } : {}) });
  return {
    async keys(bucket, prefix) {
      const keys: string[] = [];
      for await (const page of paginateListObjectsV2(
        { client },
        { Bucket: bucket, Prefix: prefix },
      )) {
        for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
      }
      return keys;
    },
    async fetch(bucket, key) {
      const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const bytes = await r.Body!.transformToByteArray();
      return { body: Buffer.from(bytes), sha256: r.Metadata?.sha256 };
    },
  };
}
