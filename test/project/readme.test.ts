/** The README stays the reference: every config key appears in it with what a change does. */
import * as fs from "fs";
import * as path from "path";
import { CONFIG_KEYS } from "../../components/stackConfig";
import { CREATE_ONLY } from "../../config/deploymentRecord";

const README = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");

/** The keys as a user writes them: node groups by field. */
const USER_KEYS = CONFIG_KEYS.flatMap((key) =>
  key === "controlPlane" || key === "workers"
    ? ["count", "instanceType", "rootVolumeSizeGiB"].map((f) => `${key}.${f}`)
    : key === "bastion"
      ? ["bastion.instanceType"]
      : key === "adminKubeconfig"
        ? ["adminKubeconfig.validityDays", "adminKubeconfig.renewBeforeDays"]
        : key === "upgrade"
          ? ["upgrade.maxUnavailableWorkers"]
          : key === "etcdBackup"
            ? [
                "etcdBackup.enabled",
                "etcdBackup.intervalMinutes",
                "etcdBackup.retentionDays",
                "etcdBackup.deleteOnDestroy",
              ]
            : [key],
);

/** The rows of the table under "What changing each key does on a running cluster". */
function day2Rows(): string[] {
  const start = README.indexOf("### What changing each key does on a running cluster");
  expect(start).toBeGreaterThan(0);
  const table = README.slice(start).split("\n\n")[1]!;
  return table.split("\n").filter((line) => line.startsWith("| `"));
}

test("the day-2 table says, for every config key and the region, what a change does", () => {
  const rows = day2Rows();
  for (const key of [...USER_KEYS, "aws:region"]) {
    const row = rows.find((r) => r.split("|")[1]!.includes(`\`${key}\``));
    expect({ key, row }).toEqual({
      key,
      row: expect.stringMatching(/\*\*(Refused|Rolling|Safe|New nodes only)\*\*/),
    });
  }
});

test("every create-only key is marked refused and create-only", () => {
  const rows = day2Rows();
  for (const key of Object.keys(CREATE_ONLY)) {
    const row = rows.find((r) => r.split("|")[1]!.includes(`\`${key}\``));
    expect(row).toMatch(/\*\*Refused\*\* \(create-only\)/);
  }
});

test("the configuration table lists every key", () => {
  for (const key of USER_KEYS) expect(README).toContain(`| \`${key}\``);
});
