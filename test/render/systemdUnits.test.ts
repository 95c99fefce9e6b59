/**
 * The control planes' job units pass `systemd-analyze verify` (Debian's systemd package; CI
 * installs it), with no warning, and say what the jobs rely on: a oneshot service (so a failed
 * snapshot fails the unit), the snapshot every interval, the certificate check daily.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { certRenewalUnits, etcdSnapshotUnits, JobUnits } from "../../render/systemdUnits";

function verify(name: string, units: JobUnits): { code: number | null; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kubeadm-aws-units-"));
  try {
    const files = [
      [`${name}.service`, units.service],
      [`${name}.timer`, units.timer],
    ].map(([file, text]) => {
      fs.writeFileSync(path.join(dir, file!), text!);
      return path.join(dir, file!);
    });
    const r = spawnSync("systemd-analyze", ["verify", ...files], { encoding: "utf8" });
    return { code: r.status, output: `${r.stdout}${r.stderr}`.trim() };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test.each([
  ["kubeadm-aws-etcd-snapshot", etcdSnapshotUnits(15)],
  ["kubeadm-aws-etcd-snapshot", etcdSnapshotUnits(90)],
  ["kubeadm-aws-cert-renewal", certRenewalUnits()],
])("%s units pass systemd-analyze verify", (name, units) => {
  expect(verify(name, units)).toEqual({ code: 0, output: "" });
});

test("a failed job fails its unit; the snapshot runs every interval, the check daily", () => {
  const snapshot = etcdSnapshotUnits(15);
  expect(snapshot.service).toContain("Type=oneshot");
  expect(snapshot.service).toContain(
    "ExecStart=/bin/bash /usr/local/lib/kubeadm-aws/etcd-snapshot.sh",
  );
  expect(snapshot.timer).toContain("OnUnitActiveSec=15min");
  expect(certRenewalUnits().timer).toContain("OnCalendar=daily");
  expect(certRenewalUnits().timer).toContain("Persistent=true");
});

test("the check would catch a unit systemd cannot read", () => {
  const bad = {
    service: "[Service]\nType=bogus\nExecStart=/bin/bash /x.sh\n",
    timer: "[Timer]\nOnBogus=1\n",
  };
  expect(verify("kubeadm-aws-bad", bad).output).toMatch(
    /Failed to parse service type[\s\S]*Unknown key/,
  );
});
