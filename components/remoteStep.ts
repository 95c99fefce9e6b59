/**
 * One guest step as a `remote.Command` with the options every step shares:
 * - runs once per instance: `triggers` are the ids of the instances the step runs on and is about,
 *   so a replaced node is bootstrapped again and nothing else is (a `triggers` change forces a
 *   replacement: pulumi-command v1.2.1 provider/pkg/provider/common/inputs.go);
 * - an edited script does not re-run on running nodes: `update` is a logged no-op, so the new
 *   text applies to new and replaced nodes only (day-2 changes are explicit resources). No step's
 *   stdout is read by the program (every credential is minted by it: credentials.ts), so the
 *   stdout an update replaces (remote/commandController.go Update runs `update`, else `create`;
 *   pulumi/pulumi-command#190) carries nothing;
 * - a step that must run once for the life of the cluster (`kubeadm init`) ignores changes to
 *   every input, so neither a new script nor a replaced target host ever makes it run again
 *   (pulumi/pulumi v3.248.0 pkg/resource/deploy/step_generator.go processIgnoreChanges resets
 *   each ignored input to its old value before the diff);
 * - no `PULUMI_COMMAND_STDOUT` from the previous run in the environment;
 * - a step with a delete script names, in `deletedWith`, the resource whose deletion in the same
 *   operation makes that script pointless (the engine then skips it: pulumi/pulumi v3.248.0
 *   pkg/resource/deploy/step.go, DeleteStep.Apply and isDeletedWith), so destroying the whole
 *   cluster needs no SSH at all.
 */
import * as remote from "@pulumi/command/remote";
import * as pulumi from "@pulumi/pulumi";
import { remoteInvocation, StepName } from "../render/script";

export interface SshTarget {
  /** The node's private address, or the bastion's public one. */
  readonly host: pulumi.Input<string>;
  readonly user: string;
  /** The key of both the node and the proxy. */
  readonly privateKey: pulumi.Input<string>;
  /** The bastion the connection goes through (absent: a step on the bastion itself). */
  readonly proxy?: { readonly host: pulumi.Input<string>; readonly user: string };
}

/** Every input of a remote.Command, for a step that must never run again. */
const ALL_COMMAND_INPUTS = [
  "connection",
  "create",
  "update",
  "delete",
  "stdin",
  "triggers",
  "environment",
  "logging",
  "addPreviousOutputInEnv",
];

export interface RemoteStepArgs {
  readonly step: StepName;
  /** Where the command runs. */
  readonly target: SshTarget;
  /** Short tag for the script's file name on the node, e.g. the node it is about. */
  readonly tag: string;
  /** Rendered script text (no secrets). */
  readonly script: pulumi.Input<string>;
  /** Rendered script run when the resource is deleted (no secrets). */
  readonly deleteScript?: pulumi.Input<string>;
  /** Secret bundle for stdin. */
  readonly stdin?: pulumi.Input<string>;
  /** Instance ids whose replacement must re-run this step. */
  readonly triggers: pulumi.Input<string>[];
  /** Created once, never updated or replaced, whatever changes later (`kubeadm init`). */
  readonly once?: boolean;
  /** Skip the delete script when this resource is deleted in the same operation. */
  readonly deletedWith?: pulumi.Resource;
  /**
   * The delete script is meant to run in a destroy (releasing what Kubernetes made in AWS): no
   * deletedWith, and the script must succeed whatever state the cluster is in.
   */
  readonly runsOnDestroy?: boolean;
  /** The first SSH contact with a booting instance keeps dialling until the timeout. */
  readonly firstContact?: boolean;
  readonly createTimeout?: string;
  readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
  readonly parent: pulumi.Resource;
}

const UPDATE_NOTICE =
  "echo 'kubeadm-aws: this bootstrap step changed; it runs on new and replaced nodes, " +
  "running nodes are left as they are (see README: day-2 operations)' >&2";

export function remoteStep(name: string, args: RemoteStepArgs): remote.Command {
  if (args.deleteScript !== undefined && args.deletedWith === undefined && !args.runsOnDestroy) {
    throw new Error(`${name} has a delete script but no deletedWith: a destroy would need SSH`);
  }
  const invoke = (script: pulumi.Input<string>) =>
    pulumi.output(script).apply((text) => remoteInvocation(args.step, text, args.tag));
  return new remote.Command(
    name,
    {
      connection: {
        host: args.target.host,
        user: args.target.user,
        privateKey: args.target.privateKey,
        // While an instance boots each attempt times out after perDialTimeout, so unlimited
        // attempts are bounded by the step's create timeout instead. Through a proxy the limit
        // applies to the hop from the bastion to the node (remote/connection.go Dial).
        dialErrorLimit: args.firstContact ? -1 : 20,
        perDialTimeout: 30,
        ...(args.target.proxy
          ? {
              proxy: {
                host: args.target.proxy.host,
                user: args.target.proxy.user,
                privateKey: args.target.privateKey,
                // On the first contact the bastion itself may still be booting.
                dialErrorLimit: args.firstContact ? -1 : 20,
                perDialTimeout: 30,
              },
            }
          : {}),
      },
      create: invoke(args.script),
      update: UPDATE_NOTICE,
      delete: args.deleteScript ? invoke(args.deleteScript) : undefined,
      stdin: args.stdin,
      triggers: args.triggers,
      addPreviousOutputInEnv: false,
      logging: "stdoutAndStderr",
    },
    {
      parent: args.parent,
      dependsOn: args.dependsOn,
      deletedWith: args.deletedWith,
      ignoreChanges: args.once ? ALL_COMMAND_INPUTS : undefined,
      customTimeouts: { create: args.createTimeout ?? "20m", update: "5m", delete: "10m" },
    },
  );
}
