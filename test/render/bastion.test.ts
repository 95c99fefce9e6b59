/**
 * The bastion's user data and its sshd settings, checked by the real sshd (Debian's
 * openssh-server, which CI installs; test/support/requiredTools.js stops the run without it):
 * the settings pass `sshd -t` and read back from `sshd -T` as meant, a broken line fails the same
 * check, and the rendered user data passes bash -n and shellcheck and, run in a sandbox against
 * the real sshd, writes the file, reloads ssh.service, and changes nothing on a second run. The
 * RHEL-family flavour does the same with sshd.service, ahead of the distribution's drop-in.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

import {
  BASTION_SSH,
  BASTION_SSHD_CONFIG,
  BASTION_SSHD_CONFIG_PATH,
  renderBastionUserData,
} from "../../render/bastion";
import { callsOf, hasProgram, runTwice, Sandbox, sandboxTest } from "../guest/sandbox";

const SSHD = "/usr/sbin/sshd";
/** sshd's compiled-in privilege separation directory: `sshd -t` stops when it is missing. */
const PRIVSEP_DIR = "/run/sshd";
const userData = renderBastionUserData();

/** The settings the bastion needs, as written and as `sshd -T` prints them (lower case). */
const SETTINGS: ReadonlyArray<readonly [string, string]> = [
  ["MaxStartups", "200:30:400"],
  ["MaxSessions", "64"],
  ["AllowTcpForwarding", "yes"],
  ["AllowAgentForwarding", "no"],
  ["X11Forwarding", "no"],
  ["PermitRootLogin", "no"],
  ["PasswordAuthentication", "no"],
  ["KbdInteractiveAuthentication", "no"],
  ["ClientAliveInterval", "30"],
  ["ClientAliveCountMax", "4"],
];

let dir = "";
let createdPrivsepDir = false;

/** A throwaway host key (sshd -t wants one) in DIR: its path. */
function hostKey(into: string): string {
  const key = path.join(into, "ssh_host_ed25519_key");
  const r = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", key], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
  return key;
}

/**
 * What the real sshd needs, made once: called by beforeAll and by every sandbox test, because
 * jest starts concurrent tests before the beforeAll hooks of the file's top level.
 */
function prerequisites(): void {
  if (dir) return;
  if (!fs.existsSync(SSHD)) {
    throw new Error(`${SSHD} is missing: apt-get update && apt-get install -y openssh-server`);
  }
  // ssh.service makes /run/sshd when it starts (RuntimeDirectory=sshd); on a test machine nothing
  // may have. Made here as that unit and Debian's /etc/init.d/ssh make it, removed afterwards.
  if (!fs.existsSync(PRIVSEP_DIR)) {
    if (process.getuid?.() !== 0) {
      throw new Error(
        `sshd -t needs ${PRIVSEP_DIR}: create it (sudo install -d -m 0755 /run/sshd)`,
      );
    }
    fs.mkdirSync(PRIVSEP_DIR, { mode: 0o755 });
    createdPrivsepDir = true;
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "kubeadm-aws-bastion-"));
}

beforeAll(prerequisites);

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  if (createdPrivsepDir) fs.rmSync(PRIVSEP_DIR, { recursive: true, force: true });
});

/** Runs the real sshd on a main config that sets the host key and Includes SNIPPET. */
function sshd(flag: "-t" | "-T", snippet: string, name: string) {
  const work = fs.mkdtempSync(path.join(dir, `${name}-`));
  const snippetFile = path.join(work, "60-kubeadm-aws-bastion.conf");
  fs.writeFileSync(snippetFile, snippet);
  const main = path.join(work, "sshd_config");
  fs.writeFileSync(main, `HostKey ${hostKey(work)}\nInclude ${snippetFile}\n`);
  return spawnSync(SSHD, [flag, "-f", main], { encoding: "utf8" });
}

describe("the sshd settings", () => {
  test("hold each setting once, as one `Keyword value` line", () => {
    const lines = BASTION_SSHD_CONFIG.split("\n").filter((l) => l && !l.startsWith("#"));
    expect(lines).toEqual(SETTINGS.map(([keyword, value]) => `${keyword} ${value}`));
    expect(BASTION_SSHD_CONFIG_PATH).toBe("/etc/ssh/sshd_config.d/60-kubeadm-aws-bastion.conf");
  });

  test("are accepted by the real sshd -t", () => {
    const r = sshd("-t", BASTION_SSHD_CONFIG, "good");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  test("are what the real sshd uses (sshd -T)", () => {
    const r = sshd("-T", BASTION_SSHD_CONFIG, "effective");
    expect(r.status).toBe(0);
    const effective = r.stdout.split("\n");
    for (const [keyword, value] of SETTINGS) {
      expect(effective).toContain(`${keyword.toLowerCase()} ${value}`);
    }
  });

  test.each([
    ["a misspelt keyword", "MaxStartup 200:30:400", /Bad configuration option: MaxStartup/],
    ["full below start", "MaxStartups 400:30:200", /Invalid MaxStartups spec/],
  ])("with %s are rejected by the same check (so it can fail)", (name, line, message) => {
    const r = sshd("-t", `${BASTION_SSHD_CONFIG}${line}\n`, name.replace(/\W+/g, "-"));
    expect(r.status).toBe(255);
    expect(r.stderr).toMatch(message);
  });
});

describe("the user data", () => {
  test("is a strict bash script that carries the settings verbatim", () => {
    expect(userData.startsWith("#!/bin/bash\n")).toBe(true);
    expect(userData).toContain("\nset -Eeuo pipefail\n");
    expect(userData).toContain(`\n${BASTION_SSHD_CONFIG}__KUBEADM_AWS_SSHD_CONFIG__\n`);
    expect(userData).toContain(BASTION_SSHD_CONFIG_PATH);
  });

  test("parses with bash -n and has no shellcheck findings", () => {
    const file = path.join(dir, "user-data.sh");
    fs.writeFileSync(file, userData);
    const syntax = spawnSync("bash", ["-n", file], { encoding: "utf8" });
    expect(syntax.stderr).toBe("");
    expect(syntax.status).toBe(0);
    expect(hasProgram("shellcheck")).toBe(true);
    const lint = spawnSync("shellcheck", ["-s", "bash", "-f", "gcc", file], { encoding: "utf8" });
    expect(lint.stdout).toBe("");
    expect(lint.status).toBe(0);
  });
});

describe("the user data, run against the real sshd", () => {
  const CONF = BASTION_SSHD_CONFIG_PATH;

  /** A bastion-like /etc/ssh: Ubuntu's stock layout (the Include first) and a host key. */
  function bastion(sb: Sandbox, extraMainLines = ""): Sandbox {
    prerequisites();
    fs.mkdirSync(sb.path("/etc/ssh/sshd_config.d"), { recursive: true });
    const key = hostKey(sb.path("/etc/ssh"));
    sb.write(
      "/etc/ssh/sshd_config",
      [
        `Include ${sb.path("/etc/ssh/sshd_config.d")}/*.conf`,
        `HostKey ${key}`,
        "KbdInteractiveAuthentication no",
        "UsePAM yes",
        "X11Forwarding yes",
        "PrintMotd no",
        "AcceptEnv LANG LC_*",
        "Subsystem sftp /usr/lib/openssh/sftp-server",
        extraMainLines,
      ].join("\n"),
    );
    return sb;
  }

  sandboxTest(
    "writes the settings, has sshd -t accept them, reloads a running ssh.service; a second run changes nothing",
    async (sb) => {
      bastion(sb).startUnit("ssh.service");
      const { first, firstCalls, second, secondCalls, changed } = await runTwice(sb, userData);
      expect(first.stderr).toContain(`wrote ${CONF}; sshd -t accepts the configuration`);
      expect(first.code).toBe(0);
      expect(sb.read(CONF)).toBe(BASTION_SSHD_CONFIG);
      expect(sb.mode(CONF)).toBe(0o644);
      expect(first.stderr).not.toContain("warning");
      expect(firstCalls.filter((c) => c.startsWith("systemctl "))).toEqual([
        "systemctl is-active --quiet ssh.service",
        "systemctl reload ssh.service",
      ]);
      expect(fs.readdirSync(sb.path("/etc/ssh/sshd_config.d"))).toEqual([
        "60-kubeadm-aws-bastion.conf",
      ]);
      expect(second.code).toBe(0);
      expect(second.stderr).toContain(`${CONF} is already in place; nothing to do`);
      expect(secondCalls).toEqual([]);
      expect(changed).toEqual([]);
    },
  );

  sandboxTest("leaves a socket-activated ssh.service that has not started alone", async (sb) => {
    bastion(sb);
    const r = await sb.run(userData);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("ssh.service is not running yet");
    expect(callsOf(sb, "systemctl")).toEqual(["systemctl is-active --quiet ssh.service"]);
  });

  sandboxTest(
    "says which setting an earlier file overrides (for each keyword the first value wins)",
    async (sb) => {
      bastion(sb);
      sb.write("/etc/ssh/sshd_config.d/50-cloud-init.conf", "PasswordAuthentication yes\n");
      const r = await sb.run(userData);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(
        "warning: sshd uses 'passwordauthentication yes' rather than 'PasswordAuthentication no'",
      );
      expect(r.stderr.match(/warning:/g)).toHaveLength(1);
    },
  );

  sandboxTest(
    "keeps the current configuration when sshd -t fails, says why, and reloads nothing",
    async (sb) => {
      bastion(sb, "MaxAuthTries many").startUnit("ssh.service");
      sb.write(CONF, "# an older version\nMaxStartups 100:30:200\n");
      const r = await sb.run(userData);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        "sshd -t rejects the new settings, so the current sshd configuration stays as it is",
      );
      expect(r.stderr).toMatch(/sshd_config line 9: MaxAuthTries integer value invalid/);
      expect(sb.read(CONF)).toBe("# an older version\nMaxStartups 100:30:200\n");
      expect(callsOf(sb, "systemctl")).toEqual([]);
    },
  );
});

describe("the RHEL-family flavour (sshd.service)", () => {
  const rhelUserData = renderBastionUserData("dnf");
  const CONF = BASTION_SSH.dnf.configPath;

  test("is the apt flavour's script with sshd.service and a file ahead of 50-redhat.conf", () => {
    expect(renderBastionUserData("apt")).toBe(userData);
    expect(BASTION_SSH.apt).toEqual({ unit: "ssh.service", configPath: BASTION_SSHD_CONFIG_PATH });
    expect(CONF).toBe("/etc/ssh/sshd_config.d/40-kubeadm-aws-bastion.conf");
    expect(rhelUserData).toContain(`\n${BASTION_SSHD_CONFIG}__KUBEADM_AWS_SSHD_CONFIG__\n`);
    expect(rhelUserData).not.toContain("ssh.service");
    expect(rhelUserData).not.toContain("/run/sshd");
  });

  test("parses with bash -n and has no shellcheck findings", () => {
    const file = path.join(dir, "user-data-rhel.sh");
    fs.writeFileSync(file, rhelUserData);
    expect(spawnSync("bash", ["-n", file], { encoding: "utf8" }).status).toBe(0);
    const lint = spawnSync("shellcheck", ["-s", "bash", "-f", "gcc", file], { encoding: "utf8" });
    expect(lint.stdout).toBe("");
    expect(lint.status).toBe(0);
  });

  /** A RHEL-like /etc/ssh: the Include first, and the distribution's 50-redhat.conf drop-in. */
  function rhelBastion(sb: Sandbox): Sandbox {
    prerequisites();
    fs.mkdirSync(sb.path("/etc/ssh/sshd_config.d"), { recursive: true });
    const key = hostKey(sb.path("/etc/ssh"));
    sb.write(
      "/etc/ssh/sshd_config",
      [
        `Include ${sb.path("/etc/ssh/sshd_config.d")}/*.conf`,
        `HostKey ${key}`,
        "AuthorizedKeysFile .ssh/authorized_keys",
        "Subsystem sftp /usr/lib/openssh/sftp-server",
      ].join("\n"),
    );
    sb.write(
      "/etc/ssh/sshd_config.d/50-redhat.conf",
      "SyslogFacility AUTHPRIV\nKbdInteractiveAuthentication no\nUsePAM yes\nX11Forwarding yes\nPrintMotd no\n",
    );
    return sb;
  }

  sandboxTest(
    "writes the settings ahead of 50-redhat.conf (no warning), reloads sshd.service; a second run changes nothing",
    async (sb) => {
      rhelBastion(sb).startUnit("sshd.service");
      const { first, firstCalls, second, secondCalls, changed } = await runTwice(sb, rhelUserData);
      expect(first.code).toBe(0);
      expect(first.stderr).toContain(`wrote ${CONF}; sshd -t accepts the configuration`);
      expect(first.stderr).not.toContain("warning");
      expect(sb.read(CONF)).toBe(BASTION_SSHD_CONFIG);
      expect(firstCalls.filter((c) => c.startsWith("systemctl "))).toEqual([
        "systemctl is-active --quiet sshd.service",
        "systemctl reload sshd.service",
      ]);
      expect(second.code).toBe(0);
      expect(second.stderr).toContain(`${CONF} is already in place; nothing to do`);
      expect(secondCalls).toEqual([]);
      expect(changed).toEqual([]);
    },
  );

  sandboxTest("leaves an sshd.service that has not started alone", async (sb) => {
    rhelBastion(sb);
    const r = await sb.run(rhelUserData);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("sshd.service is not running yet");
    expect(callsOf(sb, "systemctl")).toEqual(["systemctl is-active --quiet sshd.service"]);
  });
});
