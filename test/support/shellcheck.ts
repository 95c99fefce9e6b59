/**
 * shellcheck (Debian's package; `.ci/run` installs it) on rendered scripts, for the tests that
 * lint what the program itself renders. Resolves when there is no finding, rejects with them.
 */
import { spawn } from "child_process";

export function shellcheck(files: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("shellcheck", ["-s", "bash", ...files], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(output))));
  });
}
