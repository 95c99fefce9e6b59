/**
 * lib.sh waits for apt and dpkg to be idle before every apt-get call, because apt-get's
 * DPkg::Lock::Timeout covers only the dpkg frontend lock. Real processes hold the lock files in the
 * sandbox and the real fuser (Debian's psmisc) finds them; the systemctl and pgrep doubles play
 * apt's daily units and unattended-upgrade.
 */
import { callsOf, libScript, type Sandbox, sandboxTest } from "./sandbox";

const LOCKS = [
  "/var/lib/dpkg/lock-frontend",
  "/var/lib/dpkg/lock",
  "/var/lib/apt/lists/lock",
  "/var/cache/apt/archives/lock",
];

const UNITS_CHECK = "systemctl is-active apt-daily.service apt-daily-upgrade.service";
const UU_CHECK = "pgrep -a -f /usr/bin/unattended-upgrade( |$)";
const SHUTDOWN_HELPER =
  "501 /usr/bin/python3 /usr/share/unattended-upgrades/unattended-upgrade-shutdown --wait-for-signal";

/** The call log, apt-get calls shortened to "apt-get VERB", in the order things happened. */
function timeline(sb: Sandbox, keep: (line: string) => boolean = () => true): string[] {
  return sb
    .calls()
    .filter(keep)
    .map((line) => {
      const verb = / (update|install)( |$)/.exec(line);
      return line.startsWith("apt-get ") && verb ? `apt-get ${verb[1]}` : line;
    });
}

const aptOrRelease = (line: string): boolean =>
  line.startsWith("apt-get ") || line.startsWith("holder released ");

describe.each(LOCKS)("while a process holds %s", (lock) => {
  sandboxTest(
    "apt_install_missing waits until the holder has closed it, then updates and installs",
    async (sb) => {
      const holder = await sb.holdOpen(lock, 1);
      const r = await sb.run(libScript("apt_install_missing socat"));
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(
        `apt/dpkg is busy: ${sb.path(lock)} is held by PID ${holder.pid} (`,
      );
      expect(r.stderr).toContain('bash -c exec 9<>"$FILE"'); // the holder's command line
      expect(r.stderr).toMatch(/apt and dpkg to be idle: ready after \d+s/);
      expect(timeline(sb, aptOrRelease)).toEqual([
        `holder released ${lock}`,
        "apt-get update",
        "apt-get install",
      ]);
      expect(r.ms).toBeGreaterThanOrEqual(600); // most of the holder's second
    },
  );
});

sandboxTest(
  "a lock held for longer than the bound fails the step within the bound, naming the lock file and its holder",
  async (sb) => {
    const lock = "/var/lib/apt/lists/lock";
    const holder = await sb.holdOpen(lock, 30);
    const r = await sb.run(libScript("apt_get update\nemit_line unreachable"), {
      env: { KUBEADM_AWS_APT_LOCK_WAIT_SECONDS: "1" },
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.ms).toBeLessThan(4000);
    expect(r.stderr).toContain(
      `[ERROR] [lib-test] apt/dpkg still busy after 1s: ${sb.path(lock)} is held by PID ${holder.pid} (`,
    );
    // Once, not once per apt_get attempt: a timeout stops the step instead of being retried.
    expect(r.stderr.match(/timed out after 1s waiting for apt and dpkg to be idle/g)).toHaveLength(
      1,
    );
    expect(callsOf(sb, "apt-get")).toEqual([]);
  },
);

describe.each(["apt-daily.service", "apt-daily-upgrade.service"])("while %s runs", (unit) => {
  sandboxTest(
    "apt-get waits until systemctl no longer reports the oneshot unit activating",
    async (sb) => {
      const r = await sb.run(libScript("apt_get update"), {
        env: { DOUBLE_ACTIVATING_UNITS: unit, DOUBLE_ACTIVATING_CHECKS: "3" },
      });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`apt/dpkg is busy: ${unit} is activating`);
      // Three checks say "activating" (exit 3, like "inactive"), the fourth lets apt-get run.
      expect(timeline(sb, (l) => l.startsWith("systemctl ") || l.startsWith("apt-get "))).toEqual([
        UNITS_CHECK,
        UNITS_CHECK,
        UNITS_CHECK,
        UNITS_CHECK,
        "apt-get update",
      ]);
    },
  );
});

sandboxTest("apt-get waits for an unattended-upgrade run that pgrep finds", async (sb) => {
  const r = await sb.run(libScript("apt_get update"), {
    env: {
      DOUBLE_PROCESSES: `777 /usr/bin/python3 /usr/bin/unattended-upgrade\n${SHUTDOWN_HELPER}`,
      DOUBLE_PROCESSES_CALLS: "2",
    },
  });
  expect(r.code).toBe(0);
  expect(r.stderr).toContain(
    "apt/dpkg is busy: unattended-upgrade is running: PID 777 (/usr/bin/python3 /usr/bin/unattended-upgrade)",
  );
  expect(timeline(sb, (l) => l.startsWith("pgrep ") || l.startsWith("apt-get "))).toEqual([
    UU_CHECK,
    UU_CHECK,
    UU_CHECK,
    "apt-get update",
  ]);
});

sandboxTest(
  "without fuser it looks for apt and dpkg processes by name, and waits for them",
  async (sb) => {
    const r = await sb.run(libScript("apt_get update"), {
      without: ["fuser"],
      env: {
        DOUBLE_PROCESSES: `4242 /usr/bin/dpkg --configure -a\n${SHUTDOWN_HELPER}`,
        DOUBLE_PROCESSES_CALLS: "2",
      },
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      "apt/dpkg is busy: an apt/dpkg process is running: PID 4242 (/usr/bin/dpkg --configure -a)",
    );
    expect(r.stderr).not.toContain("PID 501");
    const byName = "pgrep -a -x apt|apt-get|aptitude|dpkg";
    expect(timeline(sb, (l) => l.startsWith("pgrep ") || l.startsWith("apt-get "))).toEqual([
      byName,
      UU_CHECK,
      byName,
      UU_CHECK,
      "apt-get update",
    ]);
  },
);

sandboxTest(
  "when nothing holds a lock and no job runs, apt-get runs at once: one check per call, no wait",
  async (sb) => {
    for (const lock of LOCKS) {
      sb.write(lock, "", 0o640); // as on a node where apt has run before
    }
    sb.startUnit("unattended-upgrades.service"); // the shutdown helper, active all the time
    const r = await sb.run(libScript("apt_install_missing socat"), {
      env: { DOUBLE_PROCESSES: SHUTDOWN_HELPER },
    });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/busy|waiting/);
    expect(timeline(sb)).toEqual([
      "dpkg-query -W -f=${Package} ${db:Status-Status}\\n socat",
      UU_CHECK,
      UNITS_CHECK,
      "apt-get update",
      UU_CHECK,
      UNITS_CHECK,
      "apt-get install",
    ]);
  },
);

sandboxTest(
  "apt_mark (hold, unhold) waits the same way: dpkg's selections need its lock",
  async (sb) => {
    const lock = "/var/lib/dpkg/lock";
    const holder = await sb.holdOpen(lock, 1);
    const r = await sb.run(libScript("apt_mark hold kubelet"));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`${sb.path(lock)} is held by PID ${holder.pid} (`);
    expect(
      timeline(sb, (l) => l.startsWith("apt-mark ") || l.startsWith("holder released ")),
    ).toEqual([`holder released ${lock}`, "apt-mark hold kubelet"]);
  },
);
