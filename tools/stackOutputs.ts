/**
 * `npm run outputs`: the kubeconfig (a secret output) into a 0600 file, the other outputs
 * printed, secrets by name only. No secret value is ever printed.
 */
import * as path from "path";
import { quote } from "shell-quote";
import type { OutputMap } from "@pulumi/pulumi/automation";
import { DeployError } from "./engineError";
import { writeKubeconfig } from "./kubeconfigFile";
import type { DeployStack } from "./stackBackend";

export const KUBECONFIG_OUTPUT = "kubeconfig";

const show = (value: unknown): string =>
  typeof value === "string" ? value : JSON.stringify(value, null, 2).replace(/\n/g, "\n    ");

/** One line (or indented block) per output; secret values never appear. */
export function outputLines(outputs: OutputMap): string[] {
  return Object.keys(outputs)
    .sort()
    .map((name) => {
      const { value, secret } = outputs[name]!;
      if (name === KUBECONFIG_OUTPUT) return `  ${name}: [secret, written to the file below]`;
      return secret ? `  ${name}: [secret]` : `  ${name}: ${show(value)}`;
    });
}

/** Prints the outputs, writes the kubeconfig, prints the line that points kubectl at it. */
export async function showOutputs(
  stack: DeployStack,
  kubeconfigFile: string,
  say: (line: string) => void,
): Promise<void> {
  const outputs = await stack.outputs();
  const deploy = `npm run up -- --stack ${stack.name}`;
  if (Object.keys(outputs).length === 0) {
    throw new DeployError(`stack ${stack.name} has no outputs: it is not deployed yet (${deploy})`);
  }
  say(`outputs of stack ${stack.name}:`);
  for (const line of outputLines(outputs)) say(line);
  const kubeconfig = outputs[KUBECONFIG_OUTPUT]?.value;
  if (typeof kubeconfig !== "string" || kubeconfig === "") {
    throw new DeployError(`stack ${stack.name} has no kubeconfig output yet (${deploy})`);
  }
  const file = path.resolve(kubeconfigFile);
  writeKubeconfig(file, stack.name, kubeconfig);
  say(`kubeconfig of stack ${stack.name} written to ${file} (mode 0600). To use it:`);
  say(`export KUBECONFIG=${quote([file])}`);
}
