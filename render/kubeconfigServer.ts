/**
 * Points a kubeconfig at another address of the same API server: the certificate names the
 * cluster's fixed private name, so a client that connects through the public load balancer, or
 * through an SSH tunnel on localhost, sets `tls-server-name` to that name and the certificate
 * never needs the load balancer's own name (kubectl supports it since 1.19).
 */
import { parseDocument } from "yaml";

export function pointKubeconfigAt(
  kubeconfig: string,
  server: string,
  tlsServerName: string,
): string {
  const doc = parseDocument(kubeconfig);
  const clusters = doc.get("clusters") as { items?: unknown[] } | undefined;
  if (!clusters?.items?.length) {
    throw new Error("the kubeconfig has no clusters to point at the API");
  }
  clusters.items.forEach((_, i) => {
    doc.setIn(["clusters", i, "cluster", "server"], server);
    doc.setIn(["clusters", i, "cluster", "tls-server-name"], tlsServerName);
  });
  return doc.toString({ lineWidth: 0 });
}
