/**
 * CloudSweep: the last word of a destroy on what Kubernetes made in AWS. A `local.Command` with
 * only a delete: once the nodes and the bastion are gone (they depend on it, so the engine deletes
 * them first) and before the network goes (it depends on that), it runs cloud/sweepCli.ts on the
 * machine running Pulumi, with that machine's AWS credentials. The script removes the load
 * balancers, target groups, interfaces, security groups and volumes tagged for the cluster that
 * are not Pulumi's (cloud/leftoverSweep.ts); the release step on the bastion has asked the
 * controllers to do it first.
 *
 * Engine behaviour relied on (pulumi/pulumi v3.248.0): deletes run in reverse dependency order,
 * a resource's parent counting as a dependency (pkg/resource/deploy/step_generator.go
 * ScheduleDeletes; pkg/resource/graph/dependency_graph.go DependenciesOf), so a component that
 * depends on this command has every child deleted before it. Plugins, this provider included, run
 * in the project directory (sdk/go/common/resource/plugin/plugin.go: cmd.Dir = ctx.Pwd), and a
 * local command without `dir` runs in its provider's directory (pulumi-command v1.2.1
 * provider/pkg/provider/local/commandOutputs.go), so the relative path to the script holds.
 */
import * as local from "@pulumi/command/local";
import * as pulumi from "@pulumi/pulumi";
import { quote } from "shell-quote";

export interface CloudSweepArgs {
  readonly clusterName: string;
  readonly region: string;
  readonly vpcId: pulumi.Input<string>;
  /** The AWS profile of the stack's `aws:profile`, if any (else the SDK's default chain). */
  readonly profile?: string;
  readonly timeoutSeconds: number;
  /** The network the leftovers live in: the sweep runs before any of it is deleted. */
  readonly dependsOn: pulumi.Resource[];
  readonly parent: pulumi.Resource;
}

export function cloudSweep(name: string, args: CloudSweepArgs): local.Command {
  const command = pulumi
    .output(args.vpcId)
    .apply((vpcId) =>
      quote([
        "node",
        "-r",
        "ts-node/register/transpile-only",
        "cloud/sweepCli.ts",
        "--cluster",
        args.clusterName,
        "--region",
        args.region,
        "--vpc",
        vpcId,
        "--timeout",
        String(args.timeoutSeconds),
        ...(args.profile ? ["--profile", args.profile] : []),
      ]),
    );
  return new local.Command(
    name,
    { delete: command, logging: "stdoutAndStderr" },
    {
      parent: args.parent,
      dependsOn: args.dependsOn,
      customTimeouts: { delete: `${Math.ceil(args.timeoutSeconds / 60) + 5}m` },
    },
  );
}
