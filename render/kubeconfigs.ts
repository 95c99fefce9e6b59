/**
 * Kubeconfig files the program writes itself, from certificates it issued (components/
 * credentials.ts): the admin kubeconfig it exports, the operations kubeconfig its bastion steps
 * use, and each node's discovery kubeconfig for `kubeadm join` (JoinConfiguration.discovery.file).
 *
 * kubeadm's join reads `contexts[current-context]` without a nil check (cmd/kubeadm/app/cmd/
 * join.go), so every file names its context as current (docs/kubeadm-credentials.md).
 */
import { stringify } from "yaml";

export interface KubeconfigArgs {
  /** kubeadm's clusterName, also the name of the cluster entry. */
  readonly clusterName: string;
  /** `https://host:port` the client dials. */
  readonly server: string;
  /**
   * The name the API certificate must carry, when `server` is another address of the same API
   * (the public load balancer, an SSH tunnel on localhost): kubectl's `tls-server-name`.
   */
  readonly tlsServerName?: string;
  /** The user entry's name: the certificate's common name, so `kubectl config view` says who. */
  readonly userName: string;
  readonly caCertPem: string;
  readonly clientCertPem: string;
  readonly clientKeyPem: string;
}

const base64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

export function renderKubeconfig(args: KubeconfigArgs): string {
  if (!/^https:\/\/[^/\s]+$/.test(args.server)) {
    throw new Error(
      `a kubeconfig server is https://host:port (got ${JSON.stringify(args.server)})`,
    );
  }
  for (const [field, pem] of [
    ["caCertPem", args.caCertPem],
    ["clientCertPem", args.clientCertPem],
    ["clientKeyPem", args.clientKeyPem],
  ] as const) {
    if (!pem.includes("-----BEGIN ")) throw new Error(`${field} is not PEM text`);
  }
  const context = `${args.userName}@${args.clusterName}`;
  return stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: args.clusterName,
          cluster: {
            "certificate-authority-data": base64(args.caCertPem),
            server: args.server,
            ...(args.tlsServerName ? { "tls-server-name": args.tlsServerName } : {}),
          },
        },
      ],
      contexts: [{ name: context, context: { cluster: args.clusterName, user: args.userName } }],
      "current-context": context,
      users: [
        {
          name: args.userName,
          user: {
            "client-certificate-data": base64(args.clientCertPem),
            "client-key-data": base64(args.clientKeyPem),
          },
        },
      ],
      preferences: {},
    },
    { lineWidth: 0 },
  );
}
