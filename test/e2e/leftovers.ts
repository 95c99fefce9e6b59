/**
 * What a destroyed cluster left in AWS: every load balancer, target group, network interface,
 * EBS volume and security group in the region that still carries the cluster's tag key
 * (`kubernetes.io/cluster/<name>`, whatever its value). Read with the AWS SDK and the caller's
 * credentials after `pulumi destroy`, when the VPC is gone, so the lookups are region-wide by tag
 * rather than by VPC (unlike the sweep in cloud/awsSweepApi.ts, which runs while the VPC exists).
 */
import {
  EC2Client,
  Filter,
  paginateDescribeNetworkInterfaces,
  paginateDescribeSecurityGroups,
  paginateDescribeVolumes,
} from "@aws-sdk/client-ec2";
import {
  DescribeTagsCommand as DescribeClassicTagsCommand,
  ElasticLoadBalancingClient,
  paginateDescribeLoadBalancers as paginateClassic,
} from "@aws-sdk/client-elastic-load-balancing";
import {
  DescribeTagsCommand,
  ElasticLoadBalancingV2Client,
  paginateDescribeLoadBalancers,
  paginateDescribeTargetGroups,
} from "@aws-sdk/client-elastic-load-balancing-v2";

/** DescribeTags takes at most 20 names or ARNs per call. */
const TAGS_PER_CALL = 20;

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function collect<P, T>(pages: AsyncIterable<P>, pick: (page: P) => T[]): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) out.push(...pick(page));
  return out;
}

/** "kind id" for each resource still tagged for the cluster; empty when nothing is left. */
export async function clusterLeftovers(clusterName: string, region: string): Promise<string[]> {
  const tagKey = `kubernetes.io/cluster/${clusterName}`;
  const ec2 = new EC2Client({ region });
  const elb = new ElasticLoadBalancingClient({ region });
  const elbv2 = new ElasticLoadBalancingV2Client({ region });
  const byTag: Filter[] = [{ Name: "tag-key", Values: [tagKey] }];
  const client = { client: ec2 };

  const volumes = await collect(
    paginateDescribeVolumes(client, { Filters: byTag }),
    (p) => p.Volumes ?? [],
  );
  const interfaces = await collect(
    paginateDescribeNetworkInterfaces(client, { Filters: byTag }),
    (p) => p.NetworkInterfaces ?? [],
  );
  const groups = await collect(
    paginateDescribeSecurityGroups(client, { Filters: byTag }),
    (p) => p.SecurityGroups ?? [],
  );

  const classicNames = await collect(paginateClassic({ client: elb }, {}), (p) =>
    (p.LoadBalancerDescriptions ?? []).map((lb) => lb.LoadBalancerName ?? ""),
  );
  const classicTagged: string[] = [];
  for (const names of chunks(classicNames, TAGS_PER_CALL)) {
    const tags = await elb.send(new DescribeClassicTagsCommand({ LoadBalancerNames: names }));
    for (const d of tags.TagDescriptions ?? []) {
      if ((d.Tags ?? []).some((t) => t.Key === tagKey)) classicTagged.push(d.LoadBalancerName!);
    }
  }

  const v2Arns = [
    ...(await collect(paginateDescribeLoadBalancers({ client: elbv2 }, {}), (p) =>
      (p.LoadBalancers ?? []).map((lb) => lb.LoadBalancerArn ?? ""),
    )),
    ...(await collect(paginateDescribeTargetGroups({ client: elbv2 }, {}), (p) =>
      (p.TargetGroups ?? []).map((tg) => tg.TargetGroupArn ?? ""),
    )),
  ];
  const v2Tagged: string[] = [];
  for (const arns of chunks(v2Arns, TAGS_PER_CALL)) {
    const tags = await elbv2.send(new DescribeTagsCommand({ ResourceArns: arns }));
    for (const d of tags.TagDescriptions ?? []) {
      if ((d.Tags ?? []).some((t) => t.Key === tagKey)) v2Tagged.push(d.ResourceArn!);
    }
  }

  return [
    ...classicTagged.map((name) => `classic-load-balancer ${name}`),
    ...v2Tagged.map((arn) =>
      arn.includes(":targetgroup/") ? `target-group ${arn}` : `load-balancer ${arn}`,
    ),
    ...interfaces.map((i) => `network-interface ${i.NetworkInterfaceId}`),
    ...volumes.map((v) => `volume ${v.VolumeId} (${v.State})`),
    ...groups.map((g) => `security-group ${g.GroupId} (${g.GroupName})`),
  ];
}
