/**
 * `npx ts-node --transpile-only tools/ciStack.ts --stack dev`: decides, in a CI job, whether the
 * job may preview or deploy a stack, and with which config. A stack whose ingress lists use
 * `my-ip` must not run as it is on a runner: `my-ip` resolves to the runner's own address, so
 * a deploy would replace the operator's address in the security groups, and a preview would
 * show that change. With the repository variable CI_INGRESS_CIDRS set, the job runs with those
 * CIDRs in place of `my-ip` (passed to pulumi/actions as `config-map`, never committed);
 * without it the job skips the stack and says why in the job summary.
 *
 * Writes `skip` and `config-map` to $GITHUB_OUTPUT and the reason to $GITHUB_STEP_SUMMARY.
 */
import * as fs from "fs";
import { stringify } from "yaml";
import { stackConfigMap } from "./stackFiles";

const INGRESS_KEYS = ["sshIngressCidrs", "apiIngressCidrs", "nodePortIngressCidrs"];
const PROJECT = "kubeadm-aws";

export interface CiStackDecision {
  readonly skip: boolean;
  /** What the job summary says. */
  readonly reason: string;
  /** pulumi/actions `config-map` (YAML), or "" when the stack runs as committed. */
  readonly configMap: string;
}

/** The CIDRs of a CI_INGRESS_CIDRS value: separated by commas or white space. */
export function parseCidrList(value: string | undefined): string[] {
  return (value ?? "").split(/[\s,]+/).filter(Boolean);
}

export function ciStackDecision(
  stack: string,
  config: Readonly<Record<string, string>>,
  ciCidrs: readonly string[],
): CiStackDecision {
  const lists = INGRESS_KEYS.map((key) => ({
    key: `${PROJECT}:${key}`,
    cidrs: config[`${PROJECT}:${key}`]
      ? (JSON.parse(config[`${PROJECT}:${key}`]!) as string[])
      : [],
  })).filter(({ cidrs }) => cidrs.includes("my-ip"));
  if (lists.length === 0) {
    return {
      skip: false,
      reason: `Stack ${stack} lists explicit CIDRs; CI uses them as committed.`,
      configMap: "",
    };
  }
  const keys = lists.map((l) => l.key.split(":")[1]).join(", ");
  if (ciCidrs.length === 0) {
    return {
      skip: true,
      reason:
        `Skipped stack ${stack}: its ${keys} use \`my-ip\`, which on a CI runner is the runner's own ` +
        `address, so a deploy would replace the operator's address in the security groups. Set the ` +
        `repository variable CI_INGRESS_CIDRS (e.g. \`198.51.100.0/24\`) to run it with those CIDRs.`,
      configMap: "",
    };
  }
  const replaced = Object.fromEntries(
    lists.map(({ key, cidrs }) => [
      key,
      {
        value: JSON.stringify([...new Set(cidrs.flatMap((c) => (c === "my-ip" ? ciCidrs : [c])))]),
        secret: false,
      },
    ]),
  );
  return {
    skip: false,
    reason: `Stack ${stack}: \`my-ip\` in its ${keys} replaced by CI_INGRESS_CIDRS (${ciCidrs.join(", ")}) for this run.`,
    configMap: stringify(replaced, { lineWidth: 0 }).trim(),
  };
}

function main(): void {
  const at = process.argv.indexOf("--stack");
  const stack = at >= 0 ? process.argv[at + 1] : undefined;
  if (!stack || stack.startsWith("--")) {
    console.error("usage: ts-node tools/ciStack.ts --stack <stack>");
    process.exit(2);
  }
  const decision = ciStackDecision(
    stack,
    stackConfigMap(process.cwd(), stack),
    parseCidrList(process.env.CI_INGRESS_CIDRS),
  );
  console.log(decision.reason);
  if (process.env.GITHUB_OUTPUT) {
    const out = [
      `skip=${decision.skip}`,
      `config-map<<__CONFIG_MAP__`,
      decision.configMap,
      "__CONFIG_MAP__",
    ];
    fs.appendFileSync(process.env.GITHUB_OUTPUT, `${out.join("\n")}\n`);
  }
  if (process.env.GITHUB_STEP_SUMMARY) {
    fs.appendFileSync(process.env.GITHUB_STEP_SUMMARY, `${decision.reason}\n`);
  }
}

if (require.main === module) main();
