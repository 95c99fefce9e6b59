/**
 * Jest global setup: the tools the tests run for real must be installed. Without them the run
 * stops at once with what to install, instead of a spawn ENOENT deep in a test.
 */
const { spawnSync } = require("child_process");
const fs = require("fs");

/** [program (a name on PATH, or an absolute path), why the tests need it, its Debian package]. */
const TOOLS = [
  ["shellcheck", "every rendered guest script is linted", "shellcheck"],
  ["fuser", "the apt lock tests find lock holders with it", "psmisc"],
  ["bash", "the guest scripts run in it", "bash"],
  ["openssl", "the mock cloud issues real certificates for the credential tests", "openssl"],
  // An absolute path: /usr/sbin is not on an ordinary user's PATH on Debian.
  ["/usr/sbin/sshd", "the real sshd -t checks the bastion's sshd settings", "openssh-server"],
  [
    "systemd-analyze",
    "the control planes' timer units are checked with systemd-analyze verify",
    "systemd",
  ],
];

const installed = (tool) =>
  tool.startsWith("/")
    ? fs.existsSync(tool)
    : spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;

module.exports = async function requiredTools() {
  const missing = TOOLS.filter(([tool]) => !installed(tool));
  if (missing.length === 0) return;
  const lines = missing.map(([tool, why, pkg]) => `  - ${tool} (${why}): package ${pkg}`);
  const packages = missing.map(([, , pkg]) => pkg).join(" ");
  throw new Error(
    `npm test needs these programs, which are not installed:\n${lines.join("\n")}\n` +
      `Install them with \`sudo apt-get install -y ${packages}\` (Debian, Ubuntu; the guest tests ` +
      `expect a Linux machine like the nodes); .ci/run installs them in CI.`,
  );
};
