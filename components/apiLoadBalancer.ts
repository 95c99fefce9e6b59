/**
 * ApiLoadBalancer: a network load balancer for the Kubernetes API, internal (what every node
 * reaches through the cluster's fixed private name) or internet-facing (publicApi, for
 * operators, open to apiIngressCidrs only).
 *
 * The target group, as CAPA does: client-IP preservation off (with it on, a node that reaches
 * the API through the NLB and lands on itself sees its own address as source and the connection
 * times out: the "hairpin" problem, kubeadm#1685); an HTTPS /readyz health check, which
 * anonymous clients may read; a short deregistration delay with connection termination, so a
 * removed control plane's long-lived watches move to another one instead of hanging.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { clusterTags, typeToken } from "./naming";

export const API_PORT = 6443;

export interface ApiLoadBalancerArgs {
  readonly clusterName: string;
  readonly internal: boolean;
  readonly vpcId: pulumi.Input<string>;
  readonly subnetIds: pulumi.Input<string>[];
  readonly securityGroupId: pulumi.Input<string>;
}

export class ApiLoadBalancer extends pulumi.ComponentResource {
  public readonly dnsName: pulumi.Output<string>;
  /** The hosted zone of the NLB's DNS name, for an alias record. */
  public readonly zoneId: pulumi.Output<string>;
  public readonly targetGroupArn: pulumi.Output<string>;
  public readonly listenerArn: pulumi.Output<string>;
  private readonly listener: aws.lb.Listener;

  constructor(name: string, args: ApiLoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super(typeToken("ApiLoadBalancer"), name, {}, opts);
    const tags = clusterTags(args.clusterName, { Name: name });

    const lb = new aws.lb.LoadBalancer(
      name,
      {
        loadBalancerType: "network",
        internal: args.internal,
        subnets: args.subnetIds,
        securityGroups: [args.securityGroupId],
        // Any zone's NLB node may forward to a control plane in another zone.
        enableCrossZoneLoadBalancing: true,
        tags,
      },
      { parent: this },
    );

    const targetGroup = new aws.lb.TargetGroup(
      name,
      {
        vpcId: args.vpcId,
        port: API_PORT,
        protocol: "TCP",
        targetType: "instance",
        preserveClientIp: "false",
        deregistrationDelay: 30,
        connectionTermination: true,
        healthCheck: {
          protocol: "HTTPS",
          port: "traffic-port",
          path: "/readyz",
          matcher: "200",
          interval: 10,
          healthyThreshold: 2,
          unhealthyThreshold: 2,
        },
        tags,
      },
      { parent: this },
    );

    this.listener = new aws.lb.Listener(
      name,
      {
        loadBalancerArn: lb.arn,
        port: API_PORT,
        protocol: "TCP",
        defaultActions: [{ type: "forward", targetGroupArn: targetGroup.arn }],
        tags,
      },
      { parent: this },
    );

    this.dnsName = lb.dnsName;
    this.zoneId = lb.zoneId;
    this.targetGroupArn = targetGroup.arn;
    this.listenerArn = this.listener.arn;
    this.registerOutputs({
      dnsName: this.dnsName,
      targetGroupArn: this.targetGroupArn,
      listenerArn: this.listenerArn,
    });
  }

  /** Registers a control-plane instance behind the API; the listener exists first. */
  public attach(name: string, instanceId: pulumi.Input<string>): aws.lb.TargetGroupAttachment {
    return new aws.lb.TargetGroupAttachment(
      name,
      { targetGroupArn: this.targetGroupArn, targetId: instanceId, port: API_PORT },
      { parent: this, dependsOn: [this.listener] },
    );
  }
}
