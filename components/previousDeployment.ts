/**
 * Reads this stack's own outputs from its last deployment, before anything is registered, to get
 * the deployment record (config/deploymentRecord.ts). This is what lets `pulumi preview` and
 * `pulumi up` refuse a create-only change before a single resource is touched.
 *
 * Engine behaviour relied on (pulumi/pulumi v3.248.0):
 * - The builtin invoke `pulumi:pulumi:readStackOutputs` returns a stack's outputs from the
 *   backend (pkg/resource/deploy/builtins.go, Invoke -> readStackReference -> GetStackOutputs);
 *   it is not a resource, so the previous outputs are not copied into state.
 * - During an update the stack's own root resource keeps its old outputs until the program
 *   registers new ones at the end: its step is a SameStep, whose Apply retains `old.Outputs`
 *   (pkg/resource/deploy/step.go, SameStep.Apply). So the read sees the last deployment's record,
 *   never a half-written one.
 * - A stack with no deployment yet has no checkpoint, and the file backend answers with no outputs
 *   (pkg/backend/diy/state.go, getSnapshotStackOutputs); the record is then undefined.
 * - A failed `up` that never registered outputs leaves the previous record in place.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../config/clusterConfig";
import { DeploymentRecord, parseRecord, RECORD_OUTPUT } from "../config/deploymentRecord";

/** This stack's fully qualified name, the form every backend accepts (`org/project/stack`). */
export function ownStackName(): string {
  return `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
}

export async function readPreviousDeployment(): Promise<DeploymentRecord | undefined> {
  const result = (await pulumi.runtime.invoke("pulumi:pulumi:readStackOutputs", {
    name: ownStackName(),
  })) as { outputs?: Record<string, unknown> } | undefined;
  const outputs = result?.outputs ?? {};
  if (outputs[RECORD_OUTPUT] === undefined && outputs.nodes !== undefined) {
    // Built by 0.1, before the record: its API endpoint is the public load balancer's name,
    // written into every certificate and kubeconfig on its nodes. This version builds on a fixed
    // private name and would break that cluster, so it leaves it alone.
    throw new ConfigError([
      `stack ${pulumi.getStack()} holds a cluster built by an earlier version of this program ` +
        `(its outputs have no ${RECORD_OUTPUT}); its API endpoint is baked into its certificates, ` +
        `and this version would change it: keep managing it with the version that built it, or ` +
        `build a new cluster in a new stack`,
    ]);
  }
  return parseRecord(outputs[RECORD_OUTPUT]);
}
