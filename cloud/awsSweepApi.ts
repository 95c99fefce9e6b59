/**
 * The sweep's port (cloud/leftoverSweep.ts) on the AWS SDK for JavaScript v3, with the
 * credentials of whoever runs `pulumi destroy` (the SDK's default chain: environment, profile,
 * SSO, instance role), in one region. Describe calls are paginated; tags of load balancers come
 * from DescribeTags, 20 at a time (its limit).
 */
import {
  DeleteNetworkInterfaceCommand,
  DeleteSecurityGroupCommand,
  DeleteVolumeCommand,
  EC2Client,
  IpPermission,
  paginateDescribeNetworkInterfaces,
  paginateDescribeSecurityGroups,
  paginateDescribeVolumes,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  Tag,
} from "@aws-sdk/client-ec2";
import {
  DeleteLoadBalancerCommand as DeleteClassicCommand,
  DescribeTagsCommand as DescribeClassicTagsCommand,
  ElasticLoadBalancingClient,
  paginateDescribeLoadBalancers as paginateClassic,
} from "@aws-sdk/client-elastic-load-balancing";
import {
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DescribeTagsCommand,
  ElasticLoadBalancingV2Client,
  paginateDescribeLoadBalancers,
  paginateDescribeTargetGroups,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { LoadBalancer, SecurityGroup, SweepApi, Tagged } from "./leftoverSweep";

const tagMap = (tags: readonly Tag[] | undefined): Record<string, string> =>
  Object.fromEntries((tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""]));

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The group ids a permission names, as the revoke call takes them back. */
const referenced = (p: IpPermission) => (p.UserIdGroupPairs ?? []).map((g) => g.GroupId ?? "");

/** The permissions of `perms` that name `groupId`, with only that group pair. */
const naming = (perms: readonly IpPermission[] | undefined, groupId: string): IpPermission[] =>
  (perms ?? [])
    .filter((p) => referenced(p).includes(groupId))
    .map((p) => ({
      IpProtocol: p.IpProtocol,
      FromPort: p.FromPort,
      ToPort: p.ToPort,
      UserIdGroupPairs: (p.UserIdGroupPairs ?? []).filter((g) => g.GroupId === groupId),
    }));

export function awsSweepApi(region: string, profile?: string): SweepApi {
  const config = { region, ...(profile ? { profile } : {}) };
  const ec2 = new EC2Client(config);
  const elb = new ElasticLoadBalancingV2Client(config);
  const classic = new ElasticLoadBalancingClient(config);
  const vpcFilter = (vpcId: string) => [{ Name: "vpc-id", Values: [vpcId] }];

  async function v2Tags(arns: string[]): Promise<Map<string, Record<string, string>>> {
    const out = new Map<string, Record<string, string>>();
    for (const batch of chunks(arns, 20)) {
      const { TagDescriptions } = await elb.send(new DescribeTagsCommand({ ResourceArns: batch }));
      for (const d of TagDescriptions ?? []) {
        out.set(d.ResourceArn ?? "", tagMap(d.Tags as Tag[] | undefined));
      }
    }
    return out;
  }

  return {
    async loadBalancers(vpcId) {
      const v2: { arn: string; vpcId?: string }[] = [];
      for await (const page of paginateDescribeLoadBalancers({ client: elb }, {})) {
        for (const lb of page.LoadBalancers ?? []) {
          if (lb.VpcId === vpcId) v2.push({ arn: lb.LoadBalancerArn ?? "", vpcId: lb.VpcId });
        }
      }
      const tags = await v2Tags(v2.map((lb) => lb.arn));
      const found: LoadBalancer[] = v2.map((lb) => ({
        kind: "v2",
        id: lb.arn,
        vpcId: lb.vpcId,
        tags: tags.get(lb.arn) ?? {},
      }));
      const names: string[] = [];
      for await (const page of paginateClassic({ client: classic }, {})) {
        for (const lb of page.LoadBalancerDescriptions ?? []) {
          if (lb.VPCId === vpcId) names.push(lb.LoadBalancerName ?? "");
        }
      }
      for (const batch of chunks(names, 20)) {
        const { TagDescriptions } = await classic.send(
          new DescribeClassicTagsCommand({ LoadBalancerNames: batch }),
        );
        for (const d of TagDescriptions ?? []) {
          found.push({
            kind: "classic",
            id: d.LoadBalancerName ?? "",
            vpcId,
            tags: tagMap(d.Tags as Tag[] | undefined),
          });
        }
      }
      return found;
    },
    async deleteLoadBalancer(lb) {
      if (lb.kind === "v2")
        await elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.id }));
      else await classic.send(new DeleteClassicCommand({ LoadBalancerName: lb.id }));
    },
    async targetGroups(vpcId) {
      const arns: string[] = [];
      for await (const page of paginateDescribeTargetGroups({ client: elb }, {})) {
        for (const tg of page.TargetGroups ?? []) {
          if (tg.VpcId === vpcId) arns.push(tg.TargetGroupArn ?? "");
        }
      }
      const tags = await v2Tags(arns);
      return arns.map((arn): Tagged => ({ id: arn, tags: tags.get(arn) ?? {} }));
    },
    async deleteTargetGroup(id) {
      await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: id }));
    },
    async networkInterfaces(vpcId) {
      const out = [];
      for await (const page of paginateDescribeNetworkInterfaces(
        { client: ec2 },
        { Filters: vpcFilter(vpcId) },
      )) {
        for (const eni of page.NetworkInterfaces ?? []) {
          out.push({
            id: eni.NetworkInterfaceId ?? "",
            status: eni.Status ?? "",
            description: eni.Description ?? "",
            tags: tagMap(eni.TagSet),
          });
        }
      }
      return out;
    },
    async deleteNetworkInterface(id) {
      await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: id }));
    },
    async securityGroups(vpcId) {
      const out: SecurityGroup[] = [];
      for await (const page of paginateDescribeSecurityGroups(
        { client: ec2 },
        { Filters: vpcFilter(vpcId) },
      )) {
        for (const sg of page.SecurityGroups ?? []) {
          out.push({
            id: sg.GroupId ?? "",
            name: sg.GroupName ?? "",
            tags: tagMap(sg.Tags),
            references: [
              ...new Set(
                [...(sg.IpPermissions ?? []), ...(sg.IpPermissionsEgress ?? [])].flatMap(
                  referenced,
                ),
              ),
            ],
          });
        }
      }
      return out;
    },
    async revokeReferences(groupId, referencedId) {
      let group;
      for await (const page of paginateDescribeSecurityGroups(
        { client: ec2 },
        { GroupIds: [groupId] },
      )) {
        group = page.SecurityGroups?.[0];
      }
      const ingress = naming(group?.IpPermissions, referencedId);
      const egress = naming(group?.IpPermissionsEgress, referencedId);
      if (ingress.length) {
        await ec2.send(
          new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: ingress }),
        );
      }
      if (egress.length) {
        await ec2.send(
          new RevokeSecurityGroupEgressCommand({ GroupId: groupId, IpPermissions: egress }),
        );
      }
    },
    async deleteSecurityGroup(id) {
      await ec2.send(new DeleteSecurityGroupCommand({ GroupId: id }));
    },
    async volumes(clusterTagKey) {
      const out = [];
      for await (const page of paginateDescribeVolumes(
        { client: ec2 },
        { Filters: [{ Name: "tag-key", Values: [clusterTagKey] }] },
      )) {
        for (const v of page.Volumes ?? []) {
          out.push({ id: v.VolumeId ?? "", state: v.State ?? "", tags: tagMap(v.Tags) });
        }
      }
      return out;
    },
    async deleteVolume(id) {
      await ec2.send(new DeleteVolumeCommand({ VolumeId: id }));
    },
  };
}
