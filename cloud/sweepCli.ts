/**
 * The command the destroy runs on the machine running Pulumi, once the nodes are gone
 * (components/cloudSweep.ts): removes what Kubernetes left in AWS, then exits 0, or exits 1
 * listing what it could not remove (the destroy stops there; run it again once that is fixed).
 *
 *   node -r ts-node/register/transpile-only cloud/sweepCli.ts \
 *     --cluster NAME --region REGION --vpc VPC_ID [--timeout SECONDS] [--profile PROFILE]
 */
import { parseArgs } from "util";
import { awsSweepApi } from "./awsSweepApi";
import { sweepLeftovers } from "./leftoverSweep";

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      cluster: { type: "string" },
      region: { type: "string" },
      vpc: { type: "string" },
      timeout: { type: "string", default: "600" },
      profile: { type: "string" },
    },
    strict: true,
  });
  const missing = (["cluster", "region", "vpc"] as const).filter((k) => !values[k]);
  if (missing.length) {
    console.error(`sweep: missing ${missing.map((k) => `--${k}`).join(", ")}`);
    return 2;
  }
  const log = (line: string) => console.log(`[sweep] ${line}`);
  const report = await sweepLeftovers(awsSweepApi(values.region!, values.profile), {
    clusterName: values.cluster!,
    vpcId: values.vpc!,
    timeoutSeconds: Number(values.timeout),
    log,
  });
  log(`removed ${report.deleted.length} resource(s) Kubernetes had left in AWS`);
  if (report.remaining.length) {
    console.error(
      `[sweep] still there after ${values.timeout}s, which will keep the VPC from being deleted:\n` +
        report.remaining.map((r) => `  - ${r}`).join("\n") +
        `\nRemove them (or wait for AWS to release them) and run the destroy again.`,
    );
    return 1;
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      console.error(`[sweep] ${err.message}`);
      process.exit(1);
    },
  );
}
