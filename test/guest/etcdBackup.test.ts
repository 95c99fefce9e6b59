/**
 * The control planes' jobs and the restore, run for real in bash against recording doubles
 * (crictl runs a static pod while its manifest is in place; etcdutl checks a snapshot's
 * integrity; curl stands in for IMDSv2 and S3; kubectl keeps a ConfigMap and the renewal Lease):
 * - etcd-snapshot: the leader snapshots, checks, uploads with the instance's credentials (never
 *   on a command line) and records it; a follower does nothing; a snapshot that fails its check,
 *   or an upload S3 refuses, fails the unit;
 * - cert-renewal: nothing within 30 days, nothing done; within them, renew under the guard and
 *   restart the static pods; a guard another node holds is respected, a stale one taken over;
 * - node-timers: installs the libraries, jobs and units once (a second run changes nothing), and
 *   the installed job runs with the installed libraries;
 * - etcd-restore: stop, restore (refusing a snapshot whose sha256 or integrity check fails), start.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { libraryText, renderScript } from "../../render/script";
import * as steps from "../../render/steps";
import { certRenewalUnits, etcdSnapshotUnits } from "../../render/systemdUnits";
import { callsOf, runTwice, Sandbox, sandboxTest } from "./sandbox";

const NODE = "ip-192-0-2-10.ec2.internal";
const BUCKET = "k8s-dev-etcd-20261204000000000000000001";
const ADMIN_CONF =
  "apiVersion: v1\nkind: Config\nclusters: []\ncontexts:\n- context:\n    cluster: kubernetes\n    user: kubernetes-admin\n  name: kubernetes-admin@kubernetes\ncurrent-context: kubernetes-admin@kubernetes\n";

/** A joined control plane: admin.conf and the four static pod manifests. */
function controlPlane(sb: Sandbox): void {
  sb.write("/etc/kubernetes/admin.conf", ADMIN_CONF, 0o600);
  if (!sb.exists("/var/lib/etcd/member/snap/db")) sb.write("/var/lib/etcd/member/snap/db", "DATA");
  for (const c of ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]) {
    sb.write(
      `/etc/kubernetes/manifests/${c}.yaml`,
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${c}\n`,
    );
  }
}

const snapshotParams = { BUCKET, REGION: "us-east-1", PREFIX: "k8s-dev/etcd/", NODE_NAME: NODE };
const snapshotJob = renderScript("etcd-snapshot", snapshotParams);

const uploads = (sb: Sandbox): string[] => {
  const dir = sb.path("/../state/s3");
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!e.name.endsWith(".headers")) out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out;
};

describe("etcd-snapshot", () => {
  sandboxTest("the leader snapshots, checks, uploads and records it", async (sb) => {
    controlPlane(sb);
    const r = await sb.run(snapshotJob, {});
    expect(r.code).toBe(0);
    const [key] = uploads(sb);
    expect(key).toMatch(
      /^k8s-dev\/etcd\/\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ-ip-192-0-2-10\.ec2\.internal\.db$/,
    );
    expect(fs.readFileSync(sb.path(`/../state/s3/${key}`), "utf8")).toBe("ETCD-SNAPSHOT-DATA");
    const sha = createHash("sha256").update("ETCD-SNAPSHOT-DATA").digest("hex");
    const headers = fs.readFileSync(sb.path(`/../state/s3/${key}.headers`), "utf8");
    expect(headers).toContain(`x-amz-meta-sha256: ${sha}`);
    expect(headers).toContain(`x-amz-content-sha256: ${sha}`);
    expect(headers).toContain("x-amz-meta-revision: 4242");
    // The instance's credentials went through curl's -K file, never its arguments.
    for (const call of callsOf(sb, "curl"))
      expect(call).not.toMatch(/SECRET-ACCESS-KEY|SESSION-TOKEN/);
    expect(r.stderr).not.toMatch(/SECRET-ACCESS-KEY|SESSION-TOKEN/);
    const recorded = fs.readFileSync(sb.path("/../state/applied.1"), "utf8");
    expect(recorded).toContain(`key=${key}`);
    expect(recorded).toMatch(/lastSuccess=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);
    expect(sb.exists("/var/lib/etcd/kubeadm-aws-snapshot.db")).toBe(false);
    expect(sb.mode("/usr/local/lib/kubeadm-aws/etcdutl")).toBe(0o755);
  });

  sandboxTest("a follower takes no snapshot", async (sb) => {
    controlPlane(sb);
    const r = await sb.run(snapshotJob, { env: { DOUBLE_ETCD_LEADER: "no" } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("not the etcd leader");
    expect(uploads(sb)).toEqual([]);
    expect(callsOf(sb, "crictl").some((c) => c.includes("snapshot save"))).toBe(false);
  });

  sandboxTest("a snapshot that fails its check is not uploaded, and the unit fails", async (sb) => {
    controlPlane(sb);
    const r = await sb.run(snapshotJob, { env: { DOUBLE_SNAPSHOT_CONTENT: "CORRUPT" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "the snapshot fails etcdutl's check (snapshot status); it is not uploaded",
    );
    expect(uploads(sb)).toEqual([]);
  });

  sandboxTest("an upload S3 refuses fails the unit and records nothing", async (sb) => {
    controlPlane(sb);
    const r = await sb.run(snapshotJob, { env: { DOUBLE_S3_PUT_RC: "22" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the upload of k8s-dev/etcd/`);
    expect(sb.exists("/../state/applied.1")).toBe(false);
  });

  sandboxTest("without a running etcd the unit fails", async (sb) => {
    sb.write("/etc/kubernetes/admin.conf", ADMIN_CONF, 0o600);
    const r = await sb.run(snapshotJob, {});
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no running etcd container on this node");
  });
});

const renewalJob = renderScript("cert-renewal", {
  NODE_NAME: NODE,
  RENEW_WITHIN_DAYS: 30,
  GUARD_STALE_SECONDS: 3600,
  WAIT_TIMEOUT_SECONDS: 5,
});
const leaseLog = (sb: Sandbox) =>
  sb.exists("/../state/lease.log") ? sb.read("/../state/lease.log").trim().split("\n") : [];

describe("cert-renewal", () => {
  sandboxTest("renews nothing while everything has more than 30 days", async (sb) => {
    controlPlane(sb);
    const r = await sb.run(renewalJob, { env: { DOUBLE_CERT_RESIDUAL: "31d" } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("nothing expires within 30 days (the soonest in 31 days)");
    expect(callsOf(sb, "kubeadm")).toEqual(["kubeadm certs check-expiration"]);
    expect(leaseLog(sb)).toEqual([]);
  });

  sandboxTest(
    "within 30 days: renews under the guard, restarts each static pod, then releases the guard",
    async (sb) => {
      controlPlane(sb);
      const r = await sb.run(renewalJob, { env: { DOUBLE_CERT_RESIDUAL: "20d" } });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("a certificate expires in 20 days: renewing them all");
      expect(callsOf(sb, "kubeadm")).toEqual([
        "kubeadm certs check-expiration",
        "kubeadm certs renew all",
      ]);
      expect(leaseLog(sb)).toEqual([`lease created by ${NODE}`, "lease deleted"]);
      for (const c of ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"]) {
        expect(r.stderr).toContain(`${c} to stop: ready`);
        expect(r.stderr).toContain(`${c} to run again: ready`);
        expect(sb.exists(`/etc/kubernetes/manifests/${c}.yaml`)).toBe(true);
      }
      // The next day: renewed, nothing to do.
      sb.clearCalls();
      const again = await sb.run(renewalJob, { env: { DOUBLE_CERT_RESIDUAL: "20d" } });
      expect(again.stderr).toContain("nothing expires within 30 days");
      expect(callsOf(sb, "kubeadm")).toEqual(["kubeadm certs check-expiration"]);
    },
  );

  sandboxTest(
    "waits while another control plane holds a fresh guard: never two at once",
    async (sb) => {
      controlPlane(sb);
      const now = new Date().toISOString().replace(/\.\d+Z$/, ".000000Z");
      fs.writeFileSync(sb.path("/../state/lease"), `ip-192-0-2-11.ec2.internal|${now}`);
      const r = await sb.run(renewalJob, { env: { DOUBLE_CERT_RESIDUAL: "20d" } });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("ip-192-0-2-11.ec2.internal is renewing its certificates");
      expect(callsOf(sb, "kubeadm")).not.toContain("kubeadm certs renew all");
      expect(sb.read("/../state/lease")).toContain("ip-192-0-2-11.ec2.internal");
    },
  );

  sandboxTest("takes over a guard whose holder died hours ago", async (sb) => {
    controlPlane(sb);
    fs.writeFileSync(
      sb.path("/../state/lease"),
      "ip-192-0-2-11.ec2.internal|2026-01-01T00:00:00.000000Z",
    );
    const r = await sb.run(renewalJob, { env: { DOUBLE_CERT_RESIDUAL: "5d" } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("taking over the renewal guard held by ip-192-0-2-11.ec2.internal");
    expect(callsOf(sb, "kubeadm")).toContain("kubeadm certs renew all");
    expect(sb.exists("/../state/lease")).toBe(false);
  });
});

const timers = (backups: boolean) =>
  steps.renderNodeTimers({
    snapshot: backups
      ? {
          script: steps.renderEtcdSnapshot({
            bucket: BUCKET,
            region: "us-east-1",
            prefix: "k8s-dev/etcd/",
            nodeName: NODE,
          }),
          ...etcdSnapshotUnits(15),
        }
      : undefined,
    renewal: {
      script: steps.renderCertRenewal({
        nodeName: NODE,
        renewWithinDays: 30,
        guardStaleSeconds: 3600,
        waitTimeoutSeconds: 5,
      }),
      ...certRenewalUnits(),
    },
  });

describe("node-timers", () => {
  sandboxTest(
    "installs the libraries, both jobs and their units, enables the timers; a second run changes nothing",
    async (sb) => {
      const runs = await runTwice(sb, timers(true));
      expect(runs.first.code).toBe(0);
      expect(sb.read("/usr/local/lib/kubeadm-aws/lib.sh").trimEnd()).toBe(libraryText().trimEnd());
      expect(sb.mode("/usr/local/lib/kubeadm-aws/etcd-snapshot.sh")).toBe(0o700);
      expect(sb.read("/etc/systemd/system/kubeadm-aws-etcd-snapshot.timer")).toBe(
        `${etcdSnapshotUnits(15).timer}\n`,
      );
      for (const t of ["etcd-snapshot", "cert-renewal"]) {
        expect(sb.exists(`/../state/systemd/enabled.kubeadm-aws-${t}.timer`)).toBe(true);
        expect(sb.exists(`/../state/systemd/active.kubeadm-aws-${t}.timer`)).toBe(true);
      }
      expect(runs.second.code).toBe(0);
      expect(runs.changed).toEqual([]);
      expect(runs.secondCalls).not.toContain("systemctl daemon-reload");

      // The installed job runs as the timer runs it, on the libraries node-timers installed.
      controlPlane(sb);
      const job = await sb.run(sb.read("/usr/local/lib/kubeadm-aws/etcd-snapshot.sh"), {});
      expect(job.code).toBe(0);
      expect(uploads(sb)).toHaveLength(1);
    },
  );

  sandboxTest("with backups off, the snapshot job is stopped and removed", async (sb) => {
    await sb.run(timers(true));
    const r = await sb.run(timers(false));
    expect(r.code).toBe(0);
    expect(sb.exists("/usr/local/lib/kubeadm-aws/etcd-snapshot.sh")).toBe(false);
    expect(sb.exists("/etc/systemd/system/kubeadm-aws-etcd-snapshot.timer")).toBe(false);
    expect(sb.exists("/../state/systemd/enabled.kubeadm-aws-etcd-snapshot.timer")).toBe(false);
    expect(sb.exists("/../state/systemd/enabled.kubeadm-aws-cert-renewal.timer")).toBe(true);
  });
});

const SNAPSHOT = "/var/lib/kubeadm-aws/restore/snapshot.db";
const restore = (mode: "stop" | "restore" | "start", sha: string) =>
  steps.renderEtcdRestore({
    mode,
    snapshotPath: SNAPSHOT,
    snapshotSha256: sha,
    nodeName: NODE,
    nodeIp: "192.0.2.10",
    initialCluster: `${NODE}=https://192.0.2.10:2380,ip-192-0-2-11.ec2.internal=https://192.0.2.11:2380`,
    clusterToken: "kubeadm-aws-restore-1",
    waitTimeoutSeconds: 5,
  });
const shaOf = (text: string) => createHash("sha256").update(text).digest("hex");

/** A control plane with its etcd data, a kept etcdutl and an uploaded snapshot. */
function restorable(sb: Sandbox, snapshot: string): void {
  controlPlane(sb);
  sb.write("/var/lib/etcd/member/snap/db", "OLD-DATA");
  sb.write("/usr/local/lib/kubeadm-aws/etcdutl", '#!/bin/bash\nexec etcdutl "$@"\n', 0o755);
  sb.write(SNAPSHOT, snapshot, 0o600);
}

describe("etcd-restore", () => {
  sandboxTest(
    "stop, restore, start: a new member from the snapshot, the old data kept",
    async (sb) => {
      restorable(sb, "GOOD-SNAPSHOT");
      const sha = shaOf("GOOD-SNAPSHOT");
      expect((await sb.run(restore("stop", sha))).code).toBe(0);
      expect(sb.exists("/etc/kubernetes/manifests/etcd.yaml")).toBe(false);
      expect(sb.exists("/etc/kubernetes/manifests/kube-apiserver.yaml")).toBe(false);
      const r = await sb.run(restore("restore", sha));
      expect(r.code).toBe(0);
      expect(sb.read("/var/lib/etcd/member/snap/db")).toBe("GOOD-SNAPSHOT");
      const kept = fs
        .readdirSync(sb.path("/var/lib"))
        .filter((d) => d.startsWith("etcd.before-restore-"));
      expect(kept).toHaveLength(1);
      expect(sb.read(`/var/lib/${kept[0]}/member/snap/db`)).toBe("OLD-DATA");
      expect(sb.read("/../state/etcdutl-restore")).toContain(
        `--name ${NODE} --initial-cluster ${NODE}=https://192.0.2.10:2380,ip-192-0-2-11.ec2.internal=https://192.0.2.11:2380 --initial-cluster-token kubeadm-aws-restore-1 --initial-advertise-peer-urls https://192.0.2.10:2380`,
      );
      // Run again (a re-run of the tool): the data is not restored twice.
      const again = await sb.run(restore("restore", sha));
      expect(again.stderr).toContain("restored from this snapshot already");
      expect((await sb.run(restore("start", sha))).code).toBe(0);
      expect(sb.exists("/etc/kubernetes/manifests/etcd.yaml")).toBe(true);
      expect(sb.exists("/etc/kubernetes/manifests/kube-apiserver.yaml")).toBe(true);
    },
  );

  sandboxTest(
    "refuses a snapshot whose sha256 is not the recorded one; nothing changes",
    async (sb) => {
      restorable(sb, "GOOD-SNAPSHOT");
      await sb.run(restore("stop", shaOf("OTHER")));
      const r = await sb.run(restore("restore", shaOf("OTHER")));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("refusing the snapshot: its sha256 is");
      expect(sb.read("/var/lib/etcd/member/snap/db")).toBe("OLD-DATA");
    },
  );

  sandboxTest("refuses a corrupt snapshot (etcdutl's check); nothing changes", async (sb) => {
    restorable(sb, "CORRUPT-SNAPSHOT");
    await sb.run(restore("stop", shaOf("CORRUPT-SNAPSHOT")));
    const r = await sb.run(restore("restore", shaOf("CORRUPT-SNAPSHOT")));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("refusing the snapshot: etcdutl snapshot status rejects it");
    expect(sb.read("/var/lib/etcd/member/snap/db")).toBe("OLD-DATA");
  });

  sandboxTest("refuses to restore while etcd still runs", async (sb) => {
    restorable(sb, "GOOD-SNAPSHOT");
    const r = await sb.run(restore("restore", shaOf("GOOD-SNAPSHOT")));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("run MODE=stop on every control plane first");
  });
});
