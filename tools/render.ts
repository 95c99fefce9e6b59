/**
 * `npm run render -- --stack prod [--out rendered/prod]`: writes every node's guest scripts and
 * kubeadm/CNI configuration for a stack, with secrets replaced by placeholders, and a summary
 * (printed first). No cloud access. The arguments are parsed strictly (tools/renderArgs.ts).
 */
import * as path from "path";
import { checkStackExists, parseRenderArgs, USAGE, USAGE_LINE, UsageError } from "./renderArgs";

async function main(): Promise<void> {
  const command = parseRenderArgs(process.argv.slice(2), process.env);
  if (command.kind === "help") {
    console.log(USAGE);
    return;
  }
  checkStackExists(command.stack, process.cwd());
  const out = path.resolve(command.out);
  // Loaded only now, so a mistyped command line is answered at once.
  const { renderPlan } = await import("./renderPlan");
  const result = await renderPlan(command.stack, out);
  console.log(result.summary);
  for (const w of result.warnings) console.error(`warning: ${w}`);
  console.log(
    `rendered ${result.files.length} files for stack ${command.stack} into ${path.relative(process.cwd(), out) || "."}`,
  );
  for (const f of result.files) console.log(`  ${f}`);
}

main().catch((err: Error) => {
  console.error(err.message);
  if (err instanceof UsageError) console.error(USAGE_LINE);
  process.exit(1);
});
