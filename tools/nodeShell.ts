/**
 * A shell on a cluster node through the bastion, with the `ssh2` library (no ssh binary, no
 * agent, no known_hosts of the operator's touched): one connection to the bastion, and for each
 * command a TCP channel from it to the node's port 22 (`forwardOut`, as `ssh -J` does) carrying a
 * second SSH session. Both take the stack's own key. Host keys are not pinned: the bastion's and
 * the nodes' keys are made at their first boot and no output records them (the same as Pulumi's
 * own SSH steps, @pulumi/command's remote connection).
 */
import { Client, ConnectConfig } from "ssh2";
import type { NodeShell } from "./etcdRestore";

export interface ShellTarget {
  readonly bastionHost: string;
  readonly bastionUser: string;
  readonly nodeUser: string;
  readonly privateKey: string;
  /** SSH's port on the bastion and the nodes (22; the tests' sshd listens elsewhere). */
  readonly port?: number;
}

function connect(config: ConnectConfig): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client
      .once("ready", () => resolve(client))
      .once("error", reject)
      .connect(config);
  });
}

function exec(
  client: Client,
  command: string,
  stdin?: Buffer,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, channel) => {
      if (err) return reject(err);
      let output = "";
      channel.on("data", (d: Buffer) => (output += d.toString()));
      channel.stderr.on("data", (d: Buffer) => (output += d.toString()));
      channel.once("close", (code: number | null) => resolve({ code: code ?? 255, output }));
      if (stdin) channel.end(stdin);
      else channel.end();
    });
  });
}

/** The shell; `close()` ends the bastion connection. */
export async function bastionShell(t: ShellTarget): Promise<NodeShell & { close(): void }> {
  const port = t.port ?? 22;
  const bastion = await connect({
    host: t.bastionHost,
    port,
    username: t.bastionUser,
    privateKey: t.privateKey,
    readyTimeout: 30_000,
  });
  return {
    async run(host, command, stdin) {
      // The bastion itself: a command on its own connection.
      if (host === t.bastionHost) return exec(bastion, command, stdin);
      const stream = await new Promise<NodeJS.ReadWriteStream>((resolve, reject) =>
        bastion.forwardOut("127.0.0.1", 0, host, port, (err, s) =>
          err ? reject(err) : resolve(s),
        ),
      );
      const node = await connect({
        sock: stream as unknown as ConnectConfig["sock"],
        username: t.nodeUser,
        privateKey: t.privateKey,
        readyTimeout: 30_000,
      });
      try {
        return await exec(node, command, stdin);
      } finally {
        node.end();
      }
    },
    close: () => bastion.end(),
  };
}
