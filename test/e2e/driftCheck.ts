/**
 * The end-to-end drift check: `npm run drift`'s report (tools/driftCommand.ts driftOfStack) on
 * the live stack, through its bastion. A new cluster, and one after a rolling upgrade or an
 * instance-type roll, must match its plan; the report throws on drift, naming the count.
 */
import type { Stack } from "@pulumi/pulumi/automation";
import { driftOfStack } from "../../tools/driftCommand";

export async function expectNoDrift(stack: Stack, log: (message: string) => void): Promise<void> {
  const lines: string[] = [];
  try {
    await driftOfStack(stack, { command: "drift", stack: stack.name, yes: false }, (line) =>
      lines.push(line),
    );
  } finally {
    log(`drift report:\n${lines.join("\n")}`);
  }
}
