/**
 * `npm run bench`: evaluates the program under mocks for 3 + 3 and 3 + 50 nodes and prints the
 * evaluation time and the longest chain of bootstrap commands, so a step that should run in
 * parallel but was made serial shows up as a longer chain; then the modeled time to a Ready
 * cluster, the duration-weighted critical path through the recorded creation graph
 * (tools/criticalPath.ts, whose durations are modeled estimates with their sources), and whether
 * a load balancer or a Route 53 record is on it. Figures only; nothing asserts time.
 */
import { performance } from "perf_hooks";
import { clock, criticalPath, minutes, onPath, shortType } from "../tools/criticalPath";
import { installMocks, MOCK_CLUSTER_OPTIONS, settle } from "../tools/mockCloud";
import { BEFORE_NO_SPECIAL_NODE } from "./baseline";

/** What the benchmark reports as on or off the critical path, by type prefix. */
const WATCHED: [string, string][] = [
  ["a load balancer", "aws:lb/"],
  ["a Route 53 record", "aws:route53/record:"],
];

async function main(): Promise<void> {
  // With the SDK's per-resource stack capture on, as in a real `pulumi up` under ts-node.
  const h = await installMocks("bench", { sdkStackTraces: true });
  const lib = await import("../components");
  const sizes: [number, number][] = [
    [3, 3],
    [3, 50],
  ];
  for (const [cps, workers] of sizes) {
    const name = `b${cps}x${workers}`;
    const before = h.resources.length;
    const start = performance.now();
    const config = lib.validateClusterConfig({
      clusterName: name,
      sshIngressCidrs: ["203.0.113.10/32"],
      controlPlane: { count: cps },
      workers: { count: workers },
      availabilityZoneCount: 3,
    });
    const cluster = await lib.createKubeadmCluster(config, MOCK_CLUSTER_OPTIONS);
    await settle(cluster.kubeconfig, cluster.nodes);
    const ms = performance.now() - start;

    const mine = h.resources.slice(before);
    const commands = new Map(
      mine.filter((r) => r.type === "command:remote:Command").map((r) => [r.urn, r]),
    );
    const memo = new Map<string, string[]>();
    const longest = (urn: string): string[] => {
      if (!memo.has(urn)) {
        const deps = commands.get(urn)!.dependencies.filter((d) => commands.has(d));
        const best = deps
          .map(longest)
          .reduce<string[]>((a, b) => (b.length > a.length ? b : a), []);
        memo.set(urn, [...best, commands.get(urn)!.name]);
      }
      return memo.get(urn)!;
    };
    const chain = [...commands.keys()]
      .map(longest)
      .reduce((a, b) => (b.length > a.length ? b : a), []);
    console.log(`${cps} control planes + ${workers} workers`);
    console.log(
      `  evaluation: ${(ms / 1000).toFixed(2)} s for ${mine.length} resources (${commands.size} commands)`,
    );
    console.log(`  longest command chain: ${chain.length} steps`);
    for (const step of chain) console.log(`    ${step}`);

    const modeled = criticalPath(mine);
    console.log(`  modeled time to Ready: ${minutes(modeled.seconds)}`);
    console.log(`  critical path: ${modeled.path.length} resources`);
    const width = Math.max(...modeled.path.map((step) => shortType(step.type).length));
    for (const step of modeled.path) {
      const span = `${clock(step.start).padStart(5)} -> ${clock(step.end).padStart(5)}`;
      console.log(`  ${span}  ${shortType(step.type).padEnd(width)}  ${step.name}`);
    }
    for (const [what, prefix] of WATCHED) {
      const on = onPath(modeled, prefix);
      console.log(`  ${what} (${prefix}*) on the critical path: ${on ? "yes" : "no"}`);
    }
    const baseline = BEFORE_NO_SPECIAL_NODE.sizes[`${cps}+${workers}` as "3+3" | "3+50"];
    if (baseline) {
      console.log(`  before no node was special (${BEFORE_NO_SPECIAL_NODE.commit}) -> now:`);
      console.log(`    commands:              ${baseline.commands} -> ${commands.size}`);
      console.log(`    longest command chain: ${baseline.chain} -> ${chain.length} steps`);
      console.log(
        `    modeled time to Ready: ${minutes(baseline.modeledSeconds)} -> ${minutes(modeled.seconds)}`,
      );
    }
    if (modeled.unknownTypes.length > 0) {
      console.log(`  modeled with the default duration (add to tools/criticalPath.ts):`);
      for (const type of modeled.unknownTypes) console.log(`    ${type}`);
    }
  }
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
