/**
 * The `my-ip` placeholder in the ingress CIDR lists: replaced at deploy time by the public
 * address of the machine running Pulumi, as a /32. It fails closed: if the address cannot be
 * detected the deployment stops with a message, it never falls back to 0.0.0.0/0.
 */
import * as https from "https";
import { ClusterConfig, ConfigError } from "./clusterConfig";

export const MY_IP = "my-ip";

const LIST_KEYS = ["sshIngressCidrs", "apiIngressCidrs", "nodePortIngressCidrs"] as const;

/** Asks AWS's own echo service for our public IPv4 address. */
export function detectPublicIp(
  url = "https://checkip.amazonaws.com",
  timeoutMs = 10000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { timeout: timeoutMs }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
      res.on("end", () => resolve(body.trim()));
    });
    req.on("timeout", () => req.destroy(new Error(`no answer from ${url} in ${timeoutMs} ms`)));
    req.on("error", reject);
  });
}

export function usesMyIp(config: ClusterConfig): boolean {
  return LIST_KEYS.some((k) => config[k].includes(MY_IP));
}

/** Returns the config with every `my-ip` replaced by `<detected address>/32`. */
export async function resolveMyIp(
  config: ClusterConfig,
  detect: () => Promise<string> = detectPublicIp,
): Promise<ClusterConfig> {
  if (!usesMyIp(config)) return config;
  let ip: string;
  try {
    ip = await detect();
  } catch (err) {
    throw new ConfigError([
      `${MY_IP} in the ingress CIDRs could not be resolved (${(err as Error).message}); ` +
        "set the CIDRs explicitly, e.g. `pulumi config set --path 'sshIngressCidrs[0]' 203.0.113.10/32`",
    ]);
  }
  if (!/^(\d{1,3})(\.\d{1,3}){3}$/.test(ip) || ip.split(".").some((o) => Number(o) > 255)) {
    throw new ConfigError([
      `${MY_IP} resolved to ${JSON.stringify(ip)}, which is not an IPv4 address; set the CIDRs explicitly`,
    ]);
  }
  const replace = (list: readonly string[]) => [
    ...new Set(list.map((c) => (c === MY_IP ? `${ip}/32` : c))),
  ];
  return Object.freeze({
    ...config,
    sshIngressCidrs: Object.freeze(replace(config.sshIngressCidrs)),
    apiIngressCidrs: Object.freeze(replace(config.apiIngressCidrs)),
    nodePortIngressCidrs: Object.freeze(replace(config.nodePortIngressCidrs)),
  });
}
