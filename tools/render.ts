/**
 * `npm run render -- --stack prod [--out rendered/prod]`: writes every node's guest scripts and
 * kubeadm/CNI configuration for a stack, with secrets replaced by placeholders. No cloud access.
 */
import * as path from "path";
import { renderPlan } from "./renderPlan";

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const stack = arg("stack", "dev")!;
  const out = path.resolve(arg("out", path.join("rendered", stack))!);
  const files = await renderPlan(stack, out);
  console.log(`rendered ${files.length} files for stack ${stack} into ${out}`);
  for (const f of files) console.log(`  ${f}`);
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
