/**
 * wait-ready: cloud-init finished (degraded is fine) and the package locks free, within bounds.
 */
import { renderWaitReady } from "../../render/steps";
import { callsOf, sandboxTest } from "./sandbox";

const script = renderWaitReady({ timeoutSeconds: 30 });

sandboxTest(
  "wait-ready waits for cloud-init, then polls until no process holds the apt/dpkg locks",
  async (sb) => {
    const r = await sb.run(script, { env: { DOUBLE_LOCK_HELD_CALLS: "2" } });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(callsOf(sb, "cloud-init")).toEqual(["cloud-init status --wait"]);
    const fuser = callsOf(sb, "fuser");
    expect(fuser).toHaveLength(3);
    expect(fuser[0]).toContain(`${sb.root}/var/lib/dpkg/lock-frontend`);
    expect(fuser[0]).toContain(`${sb.root}/var/lib/apt/lists/lock`);
  },
);

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
      "pgrep -x apt|apt-get|aptitude|dpkg",
      "pgrep -f /usr/bin/unattended-upgrade( |$)",
    ]);
  },
);

sandboxTest("wait-ready gives up when the locks stay held", async (sb) => {
  const r = await sb.run(renderWaitReady({ timeoutSeconds: 1 }), {
    env: { DOUBLE_LOCK_HELD_CALLS: "100000" },
  });
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain("waiting for the apt/dpkg locks to be free");
  expect(r.stderr).toContain("a process holds an apt/dpkg lock");
});
