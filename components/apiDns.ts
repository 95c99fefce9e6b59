/**
 * ApiDns: the cluster's fixed API name (config/defaults.ts apiEndpointName) in a Route 53
 * private hosted zone attached to the cluster's VPC only, an alias of the internal load
 * balancer. The name exists in no public DNS, and it does not change when the load balancer is
 * replaced: the certificates and kubeconfigs on the nodes keep working.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { apiEndpointName, privateZoneName } from "../config/clusterConfig";
import { clusterTags, typeToken } from "./naming";

export interface ApiDnsArgs {
  readonly clusterName: string;
  readonly vpcId: pulumi.Input<string>;
  readonly loadBalancerDnsName: pulumi.Input<string>;
  readonly loadBalancerZoneId: pulumi.Input<string>;
}

export class ApiDns extends pulumi.ComponentResource {
  /** api.<cluster>.k8s.internal */
  public readonly name: string;
  public readonly record: aws.route53.Record;

  constructor(name: string, args: ApiDnsArgs, opts?: pulumi.ComponentResourceOptions) {
    super(typeToken("ApiDns"), name, {}, opts);
    this.name = apiEndpointName(args.clusterName);
    const zone = new aws.route53.Zone(
      name,
      {
        name: privateZoneName(args.clusterName),
        comment: `Kubernetes API name of ${args.clusterName}, private to its VPC`,
        vpcs: [{ vpcId: args.vpcId }],
        // Records other tools add must not block a destroy.
        forceDestroy: true,
        tags: clusterTags(args.clusterName),
      },
      { parent: this },
    );
    this.record = new aws.route53.Record(
      name,
      {
        zoneId: zone.zoneId,
        name: this.name,
        type: "A",
        aliases: [
          {
            name: args.loadBalancerDnsName,
            zoneId: args.loadBalancerZoneId,
            evaluateTargetHealth: false,
          },
        ],
      },
      { parent: this },
    );
    this.registerOutputs({ name: this.name });
  }
}
