/**
 * `npm run bench`: evaluates the program under mocks for 3 + 3 and 3 + 50 nodes and prints the
 * evaluation time and the longest chain of bootstrap commands, so a step that should run in
 * parallel but was made serial shows up as a longer chain. Figures only; nothing asserts time.
 */
import { performance } from "perf_hooks";
import { installMocks, MOCK_CLUSTER_OPTIONS, settle } from "../tools/mockCloud";

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
  }
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
