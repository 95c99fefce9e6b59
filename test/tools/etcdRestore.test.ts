/**
 * The restore's orchestration (tools/etcdRestore.ts) over a fake bucket and a recording shell:
 * the newest snapshot, its sha256 checked before any node is touched, then stop on every
 * control plane, restore on every one, start on every one; a failing node stops it with what to
 * do; a snapshot taken now is the new key the leader uploaded.
 */
import { createHash } from "crypto";
import {
  ClusterOutputs,
  newestKey,
  NodeShell,
  restoreEtcd,
  RestoreError,
  SnapshotStore,
  snapshotNow,
} from "../../tools/etcdRestore";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

const outputs: ClusterOutputs = {
  etcdBackup: { bucket: "k8s-dev-etcd-1", prefix: "k8s-dev/etcd/", region: "us-east-1" },
  nodes: [
    {
      name: "k8s-dev-cp-0",
      role: "control-plane",
      privateIp: "10.0.0.10",
      nodeName: "ip-10-0-0-10.ec2.internal",
    },
    {
      name: "k8s-dev-cp-1",
      role: "control-plane",
      privateIp: "10.0.32.10",
      nodeName: "ip-10-0-32-10.ec2.internal",
    },
    {
      name: "k8s-dev-worker-0",
      role: "worker",
      privateIp: "10.0.0.20",
      nodeName: "ip-10-0-0-20.ec2.internal",
    },
  ],
  bastionIp: "198.51.100.7",
  bastionUser: "ubuntu",
  sshUser: "ubuntu",
  sshPrivateKey: "KEY",
};

function bucket(
  objects: Record<string, { body: string; sha256?: string }>,
): SnapshotStore & { keysOf: () => string[] } {
  const store = { ...objects };
  return {
    keysOf: () => Object.keys(store),
    keys: async (_b, prefix) => Object.keys(store).filter((k) => k.startsWith(prefix)),
    fetch: async (_b, key) => {
      const o = store[key];
      if (!o) throw new Error(`NoSuchKey: ${key}`);
      return { body: Buffer.from(o.body), ...(o.sha256 ? { sha256: o.sha256 } : {}) };
    },
  };
}

function shell(fail?: (host: string, command: string) => boolean): NodeShell & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async run(host, command, stdin) {
      const mode =
        /readonly MODE=(\w+)/.exec(command)?.[1] ??
        (command.includes("tee ") ? "copy" : command.split(" ")[2]);
      calls.push(`${host} ${mode}${stdin ? ` (${stdin.length} bytes)` : ""}`);
      return fail?.(host, command)
        ? { code: 1, output: "etcd does not start" }
        : { code: 0, output: "" };
    },
  };
}

const good = Buffer.from("SNAPSHOT-B");
const objects = {
  "k8s-dev/etcd/2026-12-04T04-00-00Z-ip-10-0-0-10.ec2.internal.db": {
    body: "SNAPSHOT-A",
    sha256: sha(Buffer.from("SNAPSHOT-A")),
  },
  "k8s-dev/etcd/2026-12-04T05-00-00Z-ip-10-0-32-10.ec2.internal.db": {
    body: "SNAPSHOT-B",
    sha256: sha(good),
  },
};
const log = () => undefined;

test("the newest snapshot is checked, copied, then stop, restore and start each go over every control plane", async () => {
  const sh = shell();
  const r = await restoreEtcd({ stack: "dev", outputs, log }, bucket(objects), sh);
  expect(r).toEqual({
    key: "k8s-dev/etcd/2026-12-04T05-00-00Z-ip-10-0-32-10.ec2.internal.db",
    sha256: sha(good),
  });
  expect(sh.calls).toEqual([
    "10.0.0.10 copy (10 bytes)",
    "10.0.32.10 copy (10 bytes)",
    "10.0.0.10 stop",
    "10.0.32.10 stop",
    "10.0.0.10 restore",
    "10.0.32.10 restore",
    "10.0.0.10 start",
    "10.0.32.10 start",
  ]);
});

test("every member is restored into the same new cluster, with the recorded sha256", async () => {
  const commands: string[] = [];
  const sh: NodeShell = { run: async (_h, c) => (commands.push(c), { code: 0, output: "" }) };
  await restoreEtcd({ stack: "dev", outputs, log }, bucket(objects), sh);
  const restores = commands.filter((c) => c.includes("readonly MODE=restore"));
  expect(restores).toHaveLength(2);
  const cluster =
    "ip-10-0-0-10.ec2.internal=https://10.0.0.10:2380,ip-10-0-32-10.ec2.internal=https://10.0.32.10:2380";
  const tokens = new Set(restores.map((c) => /readonly CLUSTER_TOKEN=(\S+)/.exec(c)![1]));
  expect(tokens.size).toBe(1);
  for (const c of restores) {
    expect(c).toContain(`readonly INITIAL_CLUSTER=${cluster}`);
    expect(c).toContain(`readonly SNAPSHOT_SHA256=${sha(good)}`);
  }
});

test("a named snapshot whose sha256 does not match is refused before any node is touched", async () => {
  const sh = shell();
  const key = "k8s-dev/etcd/bad.db";
  const store = bucket({ [key]: { body: "TRUNCATED", sha256: sha(good) } });
  await expect(
    restoreEtcd({ stack: "dev", outputs, snapshot: key, log }, store, sh),
  ).rejects.toThrow(
    /refusing k8s-dev\/etcd\/bad\.db: its sha256 is [0-9a-f]{64}, but [0-9a-f]{64} was recorded when it was taken; nothing was changed/,
  );
  expect(sh.calls).toEqual([]);
});

test("a snapshot without recorded sha256 is refused", async () => {
  const store = bucket({ "k8s-dev/etcd/x.db": { body: "X" } });
  await expect(restoreEtcd({ stack: "dev", outputs, log }, store, shell())).rejects.toThrow(
    /has no sha256 in its metadata/,
  );
});

test("no snapshot yet says how to take one", async () => {
  await expect(restoreEtcd({ stack: "dev", outputs, log }, bucket({}), shell())).rejects.toThrow(
    "take one now with `npm run etcd-snapshot -- --stack dev`",
  );
});

test("a failing node stops the restore and says it can be run again", async () => {
  const sh = shell((host, c) => host === "10.0.32.10" && c.includes("readonly MODE=start"));
  const err = await restoreEtcd({ stack: "dev", outputs, log }, bucket(objects), sh).catch(
    (e) => e,
  );
  expect(err).toBeInstanceOf(RestoreError);
  expect(err.message).toContain("etcd-restore start failed on 10.0.32.10 (exit 1)");
  expect(err.message).toContain("run the same command again");
});

test("a stack without backups is told why", async () => {
  await expect(
    restoreEtcd(
      { stack: "dev", outputs: { ...outputs, etcdBackup: undefined }, log },
      bucket({}),
      shell(),
    ),
  ).rejects.toThrow(/has no etcdBackup output: its backups are off/);
});

test("a snapshot now returns the key the leader uploaded", async () => {
  const store = bucket(objects);
  const sh: NodeShell = {
    async run(host, command) {
      if (host === "10.0.32.10" && command.includes("systemctl start")) {
        (store as unknown as { keys: SnapshotStore["keys"] }).keys = async () => [
          ...Object.keys(objects),
          "k8s-dev/etcd/2026-12-04T06-00-00Z-ip-10-0-32-10.ec2.internal.db",
        ];
      }
      return { code: 0, output: "" };
    },
  };
  expect(await snapshotNow({ stack: "dev", outputs, log }, store, sh)).toBe(
    "k8s-dev/etcd/2026-12-04T06-00-00Z-ip-10-0-32-10.ec2.internal.db",
  );
});

test("keys sort by the time they start with", () => {
  expect(
    newestKey(["p/2026-12-04T05-00-00Z-a.db", "p/2026-12-05T01-00-00Z-b.db", "p/notes.txt"]),
  ).toBe("p/2026-12-05T01-00-00Z-b.db");
});
