/**
 * Which availability zones a cluster uses. Zone index k owns node subnet slot k for life
 * (cidr.ts), so a zone once chosen is kept at its index; new zones are appended. A zone must offer
 * every instance type the cluster runs (not every zone offers every type: EC2's
 * DescribeInstanceTypeOfferings with location type availability-zone says which do).
 */
import type { ClusterConfig } from "./clusterConfig";

export interface ZoneChoiceInput {
  readonly config: ClusterConfig;
  /** The zones the cluster already uses, by index (from the deployment record). */
  readonly previous: readonly string[] | undefined;
  /** The region's available zones. */
  readonly regionZones: readonly string[];
  /** Per instance type, the zones that offer it. */
  readonly offerings: ReadonlyMap<string, ReadonlySet<string>>;
}

export interface ZoneChoice {
  readonly zones: string[];
  readonly problems: string[];
}

/**
 * The instance types the cluster runs, with the config key that names each. A type no zone offers
 * is not in the region at all; the instance-type check reports it, so it is left out here rather
 * than reported twice.
 */
function typesInUse(
  config: ClusterConfig,
  offerings: ReadonlyMap<string, ReadonlySet<string>>,
): [string, string][] {
  const types: [string, string][] = [
    ["controlPlane.instanceType", config.controlPlane.instanceType],
  ];
  if (config.workers.count > 0) types.push(["workers.instanceType", config.workers.instanceType]);
  return types.filter(([, t]) => (offerings.get(t)?.size ?? 0) > 0);
}

export function chooseZones(input: ZoneChoiceInput): ZoneChoice {
  const { config, offerings } = input;
  const count = config.availabilityZoneCount;
  const types = typesInUse(config, offerings);
  const offers = (zone: string) => types.every(([, t]) => offerings.get(t)?.has(zone) ?? false);
  const problems: string[] = [];

  const kept = (input.previous ?? []).slice(0, count);
  for (const zone of kept) {
    for (const [key, type] of types) {
      if (!(offerings.get(type)?.has(zone) ?? false)) {
        problems.push(
          `${key} ${type} is not offered in ${zone}, which this cluster already uses; ` +
            `pick a type that every zone of the cluster offers (${kept.join(", ")})`,
        );
      }
    }
  }
  const candidates = [...input.regionZones]
    .sort()
    .filter((zone) => !kept.includes(zone) && offers(zone));
  const zones = [...kept, ...candidates.slice(0, count - kept.length)];
  if (zones.length < count) {
    const lacking = [...input.regionZones]
      .sort()
      .filter((zone) => !zones.includes(zone))
      .map((zone) => {
        const missing = types.filter(([, t]) => !(offerings.get(t)?.has(zone) ?? false));
        return `${zone} (no ${[...new Set(missing.map(([, t]) => t))].join(" or ")})`;
      });
    const typeList = types.map(([key, t]) => `${key} ${t}`).join(" and ");
    problems.push(
      `availabilityZoneCount ${count} is more than the ${zones.length} zone(s) of this region that offer ` +
        `${typeList} (${zones.join(", ") || "none"})` +
        (lacking.length > 0 ? `; the others lack the type: ${lacking.join(", ")}` : "") +
        `; lower availabilityZoneCount or pick types offered in more zones`,
    );
  }
  return { zones, problems };
}
