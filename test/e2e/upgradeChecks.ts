/**
 * What a rolling upgrade must keep and reach on a real cluster: a Deployment behind a
 * PodDisruptionBudget keeps answering through its load balancer the whole time (probed every
 * 2 s while the `up` runs), and afterwards every node's kubelet runs the target version.
 */
import { httpBody } from "./cloudChecks";
import type { Kubectl } from "./kube";

export interface ServingReport {
  readonly probes: number;
  readonly failures: number;
  /** The longest run of failed probes, in seconds. */
  readonly longestOutageSeconds: number;
}

/** Probes `url` every 2 s until stopped; the report says how often and how long it failed. */
export function probeWhile(url: string): { stop(): Promise<ServingReport> } {
  let running = true;
  let probes = 0;
  let failures = 0;
  let outageStart: number | undefined;
  let longest = 0;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      const ok = (await httpBody(url)) !== undefined;
      probes++;
      if (ok) {
        if (outageStart !== undefined) longest = Math.max(longest, started - outageStart);
        outageStart = undefined;
      } else {
        failures++;
        outageStart ??= started;
      }
      await new Promise((r) => setTimeout(r, Math.max(0, 2000 - (Date.now() - started))));
    }
    if (outageStart !== undefined) longest = Math.max(longest, Date.now() - outageStart);
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { probes, failures, longestOutageSeconds: Math.round(longest / 1000) };
    },
  };
}

/** Each node's kubelet version, by name. */
export async function kubeletVersions(kubectl: Kubectl): Promise<Record<string, string>> {
  const out = await kubectl.run([
    "get",
    "nodes",
    "-o",
    'jsonpath={range .items[*]}{.metadata.name}{" "}{.status.nodeInfo.kubeletVersion}{"\\n"}{end}',
  ]);
  return Object.fromEntries(
    out
      .split("\n")
      .filter(Boolean)
      .map((line) => line.split(" ") as [string, string]),
  );
}
