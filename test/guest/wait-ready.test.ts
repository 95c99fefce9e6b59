/**
 * wait-ready: cloud-init finished (degraded is fine), then apt and dpkg idle (lib.sh's
 * wait_for_apt_idle, tested in apt-locks.test.ts), within one bound. Lock holders are real
 * processes, found by the real fuser.
 */
import { renderWaitReady } from "../../render/steps";
import { callsOf, sandboxTest } from "./sandbox";

const script = renderWaitReady({ timeoutSeconds: 30, packageManager: "apt" });
const UNITS_CHECK = "systemctl is-active apt-daily.service apt-daily-upgrade.service";

sandboxTest(
  "wait-ready waits for cloud-init, then until no process holds an apt/dpkg lock",
  async (sb) => {
    const lock = "/var/lib/dpkg/lock-frontend";
    const holder = await sb.holdOpen(lock, 1);
    const r = await sb.run(script);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(callsOf(sb, "cloud-init")).toEqual(["cloud-init status --wait"]);
    expect(r.stderr).toContain(`apt/dpkg is busy: ${sb.path(lock)} is held by PID ${holder.pid} (`);
    // The check that let the step finish came after the holder had let go of the lock.
    const calls = sb.calls();
    expect(calls.lastIndexOf(UNITS_CHECK)).toBeGreaterThan(
      calls.indexOf(`holder released ${lock}`),
    );
    expect(r.stderr).toMatch(
      /apt and dpkg to be idle: ready after \d+s[^]*node is ready for prepare/,
    );
  },
);

sandboxTest("wait-ready also waits for apt-daily.service to finish", async (sb) => {
  const r = await sb.run(script, {
    env: { DOUBLE_ACTIVATING_UNITS: "apt-daily.service", DOUBLE_ACTIVATING_CHECKS: "2" },
  });
  expect(r.code).toBe(0);
  expect(r.stderr).toContain("apt/dpkg is busy: apt-daily.service is activating");
  expect(callsOf(sb, "systemctl")).toEqual([UNITS_CHECK, UNITS_CHECK, UNITS_CHECK]);
});

sandboxTest("wait-ready accepts a degraded cloud-init (exit 2)", async (sb) => {
  const r = await sb.run(script, { env: { DOUBLE_CLOUD_INIT_RC: "2" } });
  expect(r.code).toBe(0);
  expect(r.stderr).toContain("degraded state");
});

sandboxTest(
  "wait-ready fails with cloud-init's status when cloud-init reports an error",
  async (sb) => {
    const r = await sb.run(script, { env: { DOUBLE_CLOUD_INIT_RC: "1" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cloud-init reported an error (exit 1)");
    expect(r.stderr).toContain("module write_files failed");
  },
);

sandboxTest(
  "wait-ready goes on without cloud-init and falls back to pgrep without fuser",
  async (sb) => {
    const r = await sb.run(script, { without: ["cloud-init", "fuser"] });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("cloud-init is not installed");
    expect(callsOf(sb, "pgrep")).toEqual([
      "pgrep -a -x apt|apt-get|aptitude|dpkg",
      "pgrep -a -f /usr/bin/unattended-upgrade( |$)",
    ]);
  },
);

sandboxTest("wait-ready gives up when a lock stays held, naming it and its holder", async (sb) => {
  const lock = "/var/lib/apt/lists/lock";
  const holder = await sb.holdOpen(lock, 30);
  const r = await sb.run(renderWaitReady({ timeoutSeconds: 1, packageManager: "apt" }));
  expect(r.code).toBe(1);
  expect(r.ms).toBeLessThan(4000);
  expect(r.stderr).toContain("timed out after 1s waiting for apt and dpkg to be idle");
  expect(r.stderr).toContain(
    `apt/dpkg still busy after 1s: ${sb.path(lock)} is held by PID ${holder.pid} (`,
  );
  expect(r.stderr).not.toContain("node is ready for prepare");
});
