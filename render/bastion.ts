/**
 * The bastion's EC2 user data: the sshd settings that the Pulumi program's SSH traffic needs. Every
 * remote command connects to its node's private IP with the bastion as SSH proxy, one connection
 * to the bastion per command, so a large cluster opens a few hundred at once. Pure (no `@pulumi`),
 * like the rest of render/; the bastion instance passes `renderBastionUserData()` as its user data.
 *
 * The user data holds no secret (it is readable through the instance metadata service and the EC2
 * API), so it is plain text, fine to show in a preview. The bastion runs the nodes' OS, so the
 * script comes in two flavours (BASTION_SSH): Debian and Ubuntu's ssh.service, and the RHEL
 * family's sshd.service. The apt one is exactly what this file rendered before RHEL-family support,
 * so running bastions see no user-data change (EC2 would stop and start them for one).
 *
 * What it relies on in Ubuntu 24.04's openssh-server (1:9.6p1-3ubuntu13.x):
 * - the stock /etc/ssh/sshd_config starts with `Include /etc/ssh/sshd_config.d/*.conf`, and for
 *   each keyword sshd uses the first value it reads, so a drop-in there overrides the lines below
 *   the Include but not a file that sorts before it (the user data checks with `sshd -T`);
 * - ssh.socket listens on port 22 and starts ssh.service at the first connection (socket
 *   activation); sshd-socket-generator carries only Port, ListenAddress and AddressFamily over to
 *   the socket, so the settings here need no socket change, only sshd's own reload;
 * - ssh.service's ExecReload runs `sshd -t` and then sends SIGHUP, on which sshd re-executes itself
 *   with the new configuration and keeps the socket systemd passed it; open connections stay;
 * - ssh.service creates sshd's privilege separation directory /run/sshd (RuntimeDirectory=sshd), so
 *   before ssh.service has started `sshd -t` stops with "Missing privilege separation directory";
 *   the user data creates it first, as Debian's /etc/init.d/ssh does (check_privsep_dir).
 *
 * And in the RHEL family's openssh-server (Rocky, AlmaLinux and Oracle Linux 9, Amazon Linux 2023):
 * - the same Include at the top of /etc/ssh/sshd_config, and a 50-redhat.conf drop-in that sets
 *   X11Forwarding yes, so the settings here go in a file that sorts before it (40-...);
 * - sshd.service runs from boot (no socket activation); its reload sends SIGHUP;
 * - the privilege separation directory (/usr/share/empty.sshd) comes with the package.
 */
import type { PackageManager } from "../config/osFamily";

/** Where the user data writes the settings on Debian and Ubuntu. */
export const BASTION_SSHD_CONFIG_PATH = "/etc/ssh/sshd_config.d/60-kubeadm-aws-bastion.conf";

/** How sshd runs on the bastion's OS family. */
export interface BastionSsh {
  /** sshd's systemd unit, reloaded once the settings are in place. */
  readonly unit: "ssh.service" | "sshd.service";
  /** Where the settings go. */
  readonly configPath: string;
}

export const BASTION_SSH: Readonly<Record<PackageManager, BastionSsh>> = {
  apt: { unit: "ssh.service", configPath: BASTION_SSHD_CONFIG_PATH },
  dnf: { unit: "sshd.service", configPath: "/etc/ssh/sshd_config.d/40-kubeadm-aws-bastion.conf" },
};

/** The sshd settings, exactly as written to BASTION_SSHD_CONFIG_PATH (tests check them with sshd). */
export const BASTION_SSHD_CONFIG = `# kubeadm-aws bastion, written by its EC2 user data. The Pulumi program reaches every node
# through this host: one SSH connection per remote command, a few hundred at once.
#
# Unauthenticated connections (start:rate:full): from 200 on, sshd drops 30% of new ones, from 400
# on all. The default 10:30:100 starts dropping as soon as 10 handshakes are in flight.
MaxStartups 200:30:400
# Shell, command and subsystem sessions per connection (multiplexed clients); default 10.
MaxSessions 64
# The proxy itself: ProxyJump and ssh -W open direct-tcpip channels to the nodes.
AllowTcpForwarding yes
AllowAgentForwarding no
X11Forwarding no
PermitRootLogin no
# Keys only.
PasswordAuthentication no
KbdInteractiveAuthentication no
# Close connections whose client has gone: four unanswered probes, 30 seconds apart.
ClientAliveInterval 30
ClientAliveCountMax 4
`;

/** The heredoc delimiter that carries the settings inside the script. */
const HEREDOC_END = "__KUBEADM_AWS_SSHD_CONFIG__";

/**
 * The bastion's user data: a bash script that cloud-init runs once, as root, at first boot. It
 * writes BASTION_SSHD_CONFIG to the flavour's configPath, checks the new settings with `sshd -t`
 * (the old configuration stays when sshd rejects them, and the log says why), warns when an earlier
 * file overrides one of them, and reloads sshd's unit (ssh.service, or sshd.service on the RHEL
 * family) when it runs. Idempotent: once the file is in place a re-run changes nothing and reloads
 * nothing.
 */
export function renderBastionUserData(packageManager: PackageManager = "apt"): string {
  if (BASTION_SSHD_CONFIG.includes(HEREDOC_END)) {
    throw new Error(`the bastion's sshd settings contain the heredoc delimiter ${HEREDOC_END}`);
  }
  const ssh = BASTION_SSH[packageManager];
  const debian = packageManager === "apt";
  return `#!/bin/bash
# kubeadm-aws bastion user data: sshd settings for the many SSH connections that the Pulumi program
# proxies through this host (generated by render/bastion.ts). cloud-init runs it once, as root, at
# first boot; its output is in /var/log/cloud-init-output.log. It holds no secret. Running it again
# changes nothing once the settings are in place.
set -Eeuo pipefail
umask 022
# sshd is in /usr/sbin, which a minimal PATH may lack; appended, so nothing earlier is shadowed.
PATH="\${PATH:-/usr/bin:/bin}:/usr/sbin:/sbin"

# KUBEADM_AWS_ROOT is for tests only: a sandbox directory that stands for /. Empty on the bastion.
readonly ROOT="\${KUBEADM_AWS_ROOT:-}"
readonly SSHD_CONFIG="\${ROOT}/etc/ssh/sshd_config"
readonly CONF="\${ROOT}${ssh.configPath}"
${debian ? PRIVSEP_DECLARATION : ""}
log() { printf 'kubeadm-aws-bastion: %s\\n' "$*" >&2; }
trap 'log "failed (exit $?) at line \${LINENO}: \${BASH_COMMAND}"' ERR

work="$(mktemp -d)"
tmp=""
trap 'rm -rf -- "$work" \${tmp:+"$tmp"}' EXIT

cat >"\${work}/candidate.conf" <<'${HEREDOC_END}'
${BASTION_SSHD_CONFIG.replace(/\n$/, "")}
${HEREDOC_END}

if [[ -f "$CONF" ]] && cmp -s -- "\${work}/candidate.conf" "$CONF" &&
  [[ "$(stat -c '%a' -- "$CONF")" == 644 ]]; then
  log "\${CONF#"$ROOT"} is already in place; nothing to do"
  exit 0
fi

${debian ? PRIVSEP_CREATION : ""}# 1. The new settings together with the current configuration, before anything changes.
printf 'Include %s\\nInclude %s\\n' "\${work}/candidate.conf" "$SSHD_CONFIG" >"\${work}/check.conf"
if ! out="$(sshd -t -f "\${work}/check.conf" 2>&1)"; then
  log "sshd -t rejects the new settings, so the current sshd configuration stays as it is: \${out}"
  exit 1
fi

# 2. Install the file atomically (a temporary name that sshd's *.conf Include skips, then a
#    rename), keeping a copy of the previous one.
install -d -m 0755 -- "\${CONF%/*}"
previous=""
if [[ -f "$CONF" ]]; then
  cp -p -- "$CONF" "\${work}/previous.conf"
  previous="\${work}/previous.conf"
fi
tmp="$(mktemp "\${CONF%/*}/.kubeadm-aws-bastion.XXXXXX")"
cat -- "\${work}/candidate.conf" >"$tmp"
chmod 0644 -- "$tmp"
mv -f -- "$tmp" "$CONF"
tmp=""

# 3. The whole configuration as sshd reads it; the previous file comes back if sshd rejects it.
if ! out="$(sshd -t -f "$SSHD_CONFIG" 2>&1)"; then
  if [[ -n "$previous" ]]; then
    cp -p -- "$previous" "$CONF"
  else
    rm -f -- "$CONF"
  fi
  log "sshd -t rejects the configuration with the new settings; the previous one is back: \${out}"
  exit 1
fi
log "wrote \${CONF#"$ROOT"}; sshd -t accepts the configuration"

# 4. For each keyword sshd uses the first value it reads: a line above the Include in sshd_config,
#    or a file that sorts before this one, wins over a setting here. Say so if that happens.
effective="$(sshd -T -f "$SSHD_CONFIG" 2>&1)" || {
  log "sshd -T failed: \${effective}"
  exit 1
}
while read -r keyword value; do
  [[ -n "$keyword" && "$keyword" != "#"* ]] || continue
  if ! grep -qixF -- "\${keyword} \${value}" <<<"$effective"; then
    actual="$(grep -i -- "^\${keyword} " <<<"$effective" || true)"
    log "warning: sshd uses '\${actual:-no value}' rather than '\${keyword} \${value}': a line above" \\
      "the Include in \${SSHD_CONFIG#"$ROOT"}, or an earlier file in \${CONF%/*}, sets it first"
  fi
done <"$CONF"

${debian ? DEBIAN_RELOAD : RHEL_RELOAD}`;
}

/** Debian and Ubuntu: ssh.service makes sshd's privilege separation directory when it starts. */
const PRIVSEP_DECLARATION = `# sshd's privilege separation directory; ssh.service creates it (RuntimeDirectory=sshd) when it
# starts, which with socket activation may not have happened yet. sshd -t and -T need it.
readonly PRIVSEP_DIR="\${ROOT}/run/sshd"
`;

const PRIVSEP_CREATION = `if [[ ! -d "$PRIVSEP_DIR" ]]; then
  install -d -m 0755 -- "$PRIVSEP_DIR"
fi

`;

const DEBIAN_RELOAD = `# 5. sshd reads its configuration when it starts and on SIGHUP. ssh.service's reload checks it with
#    sshd -t, then sends SIGHUP: sshd re-executes itself; open connections stay. ssh.socket holds
#    the listening socket on Ubuntu 24.04 and needs nothing for these settings (only Port,
#    ListenAddress and AddressFamily go through sshd-socket-generator and a daemon-reload).
if ! command -v systemctl >/dev/null 2>&1; then
  log "no systemctl here: restart sshd to use the new settings"
elif systemctl is-active --quiet ssh.service; then
  systemctl reload ssh.service
  log "reloaded ssh.service"
else
  log "ssh.service is not running yet (ssh.socket starts it at the first connection); it reads the" \\
    "new settings when it starts"
fi
`;

const RHEL_RELOAD = `# 5. sshd reads its configuration when it starts and on SIGHUP. sshd.service runs from boot on the
#    RHEL family; its reload sends SIGHUP: sshd re-executes itself; open connections stay.
if ! command -v systemctl >/dev/null 2>&1; then
  log "no systemctl here: restart sshd to use the new settings"
elif systemctl is-active --quiet sshd.service; then
  systemctl reload sshd.service
  log "reloaded sshd.service"
else
  log "sshd.service is not running yet; it reads the new settings when it starts"
fi
`;
