/**
 * A real OpenSSH server on loopback for the tests that go over SSH (Debian's openssh-server; CI
 * installs it): a throwaway host key and user key, listening on 127.0.0.1 (the "bastion"),
 * 127.0.0.2 and 127.0.0.3 (two "nodes"; the bastion's `forwardOut` reaches them as it reaches a
 * node's private address). Sessions get the guest test doubles first on PATH (sudo among them,
 * which maps /var/lib/kubeadm-aws into the sandbox) and the doubles' log and state; the caller
 * prefixes each command with the sandbox root of the machine it stands for.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";

export const SSHD = "/usr/sbin/sshd";
export const DOUBLES_DIR = path.join(__dirname, "..", "guest", "doubles");
export const LOOPBACK_HOSTS = ["127.0.0.1", "127.0.0.2", "127.0.0.3"] as const;

export interface LoopbackSshd {
  readonly port: number;
  readonly user: string;
  readonly privateKey: string;
  readonly dir: string;
  /** The doubles' call log and state directory, shared by every session. */
  readonly doubleLog: string;
  readonly doubleState: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function keygen(file: string): void {
  const r = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", file], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
}

async function listening(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited (${child.exitCode}): ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port }, () => (s.destroy(), resolve(true)));
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`sshd did not listen on ${port}: ${log()}`);
}

export async function startLoopbackSshd(env: Record<string, string> = {}): Promise<LoopbackSshd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kubeadm-aws-sshd-"));
  const hostKey = path.join(dir, "host_ed25519");
  const userKey = path.join(dir, "user_ed25519");
  keygen(hostKey);
  keygen(userKey);
  fs.copyFileSync(`${userKey}.pub`, path.join(dir, "authorized_keys"));
  const doubleLog = path.join(dir, "calls.log");
  const doubleState = path.join(dir, "state");
  for (const sub of ["pkg", "systemd", "hold"])
    fs.mkdirSync(path.join(doubleState, sub), { recursive: true });
  fs.writeFileSync(doubleLog, "");
  const port = await freePort();
  const setEnv = {
    PATH: `${DOUBLES_DIR}:/usr/local/bin:/usr/bin:/bin`,
    DOUBLE_LOG: doubleLog,
    DOUBLE_STATE: doubleState,
    KUBEADM_AWS_POLL_SECONDS: "0.05",
    KUBEADM_AWS_RETRY_DELAY_SECONDS: "0",
    ...env,
  };
  const config = [
    `Port ${port}`,
    ...LOOPBACK_HOSTS.map((h) => `ListenAddress ${h}`),
    `HostKey ${hostKey}`,
    `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
    `PidFile ${path.join(dir, "sshd.pid")}`,
    "StrictModes no",
    "UsePAM no",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PermitRootLogin prohibit-password",
    "AllowTcpForwarding yes",
    "PermitUserEnvironment no",
    // sshd_config splits words like a shell: a value with spaces goes in double quotes.
    `SetEnv ${Object.entries(setEnv)
      .map(([k, v]) => `"${k}=${v}"`)
      .join(" ")}`,
  ].join("\n");
  fs.writeFileSync(path.join(dir, "sshd_config"), `${config}\n`);
  // As root, sshd wants its privilege-separation directory (Debian's package makes it at boot).
  if (process.getuid?.() === 0) fs.mkdirSync("/run/sshd", { recursive: true });
  let log = "";
  const child = spawn(SSHD, ["-D", "-e", "-f", path.join(dir, "sshd_config")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  child.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  await listening(port, child, () => log);
  return {
    port,
    user: os.userInfo().username,
    privateKey: fs.readFileSync(userKey, "utf8"),
    dir,
    doubleLog,
    doubleState,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once("exit", r)));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
