/**
 * lib.sh, exercised directly: logging channels, retries, bounded waits, the ERR trap, the secret
 * bundle reader, convergent file writes, the managed /etc/hosts line and output redaction.
 */
import { renderSecretBundle } from "../../render/script";
import { libScript, sandboxTest } from "./sandbox";

/** Values of the shapes redact_secrets hides: 64 hex characters, a bootstrap token. */
const CERT_KEY = "9f2c4be1d07a3e58c6b19f0d2a7e4c3b8d5f6a1e0b9c8d7e6f5a4b3c2d1e0f9a";
const TOKEN = "k8saws.0123456789abcdef";

describe("output channels", () => {
  sandboxTest(
    "logs go to stderr with a timestamp, [LEVEL] and [step]; stdout carries only data",
    async (sb) => {
      const r = await sb.run(
        libScript('info "hello"; warn "careful"; echo "stray tool output"; emit_line DATA'),
      );
      expect(r.code).toBe(0);
      expect(r.stdout).toBe("DATA\n");
      expect(r.stderr).toMatch(
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} \[INFO\] \[lib-test\] hello$/m,
      );
      expect(r.stderr).toMatch(/\[WARN\] \[lib-test\] careful$/m);
      expect(r.stderr).toContain("stray tool output");
    },
  );

  sandboxTest("fatal stops the step with exit 1 and an [ERROR] line", async (sb) => {
    const r = await sb.run(libScript('fatal "no way"; emit_line unreachable'));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/\[ERROR\] \[lib-test\] no way$/m);
  });
});

describe("retry", () => {
  const counter = `
attempt() {
  local n=0
  [[ -f "$SYSROOT/count" ]] && n="$(<"$SYSROOT/count")"
  echo $((n + 1)) >"$SYSROOT/count"
  (( n + 1 >= $1 ))
}
`;

  sandboxTest(
    "runs a failing command again until it succeeds, logging each failure",
    async (sb) => {
      const r = await sb.run(libScript(`${counter}\nretry 5 0 -- attempt 3\ninfo done`));
      expect(r.code).toBe(0);
      expect(sb.read("/count").trim()).toBe("3");
      expect(r.stderr.match(/attempt \d\/5 failed/g)).toHaveLength(2);
    },
  );

  sandboxTest(
    "gives up after the given number of attempts with the command's exit status",
    async (sb) => {
      const r = await sb.run(
        libScript(`${counter}\nrc=0; retry 3 0 -- attempt 99 || rc=$?; emit_line "rc=$rc"`),
      );
      expect(r.stdout).toBe("rc=1\n");
      expect(sb.read("/count").trim()).toBe("3");
      expect(r.stderr).toContain("giving up after 3 attempts");
    },
  );
});

describe("wait_for", () => {
  sandboxTest("polls until the check succeeds", async (sb) => {
    const r = await sb.run(
      libScript(`wait_for 10 "the flag file" -- test -f "$SYSROOT/flag" &
sleep 0.3; touch "$SYSROOT/flag"; wait $!`),
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("the flag file: ready after");
  });

  sandboxTest(
    "gives up after its timeout with the last check's output and diagnostics",
    async (sb) => {
      const r = await sb.run(
        libScript(`wait_for 1 "the moon" -- bash -c 'echo "moon not risen"; exit 1'`),
      );
      expect(r.code).not.toBe(0);
      expect(r.ms).toBeLessThan(5000);
      expect(r.stderr).toContain("timed out after 1s waiting for the moon");
      expect(r.stderr).toContain("moon not risen");
      expect(r.stderr).toContain("---- diagnostics for step lib-test ----");
      expect(r.stderr).toContain("DIAG-KUBELET-JOURNAL");
    },
  );

  sandboxTest(
    "with --changes logs each state once, when it changes, not every poll",
    async (sb) => {
      // Polls 1-2 say "a", 3-4 "b", 5 "a" again (a change too), then the check succeeds.
      const r = await sb.run(
        libScript(`check() {
  local n=0
  [[ ! -f "$SYSROOT/n" ]] || n="$(<"$SYSROOT/n")"
  n=$((n + 1))
  echo "$n" >"$SYSROOT/n"
  case "$n" in 1 | 2) echo "state a" ;; 3 | 4) echo "state b" ;; 5) echo "state a" ;; *) return 0 ;; esac
  return 1
}
wait_for --changes 10 "the thing" -- check`),
      );
      expect(r.code).toBe(0);
      expect(sb.read("/n").trim()).toBe("6");
      const logged = r.stderr
        .split("\n")
        .filter((line) => line.includes("[INFO] [lib-test] the thing: "));
      expect(logged.map((line) => line.replace(/^.*the thing: /, ""))).toEqual([
        "state a",
        "state b",
        "state a",
        expect.stringMatching(/^ready after \d+s$/),
      ]);
    },
  );

  sandboxTest("without --changes logs no state while it waits", async (sb) => {
    const r = await sb.run(
      libScript(
        `wait_for 10 "the flag" -- bash -c 'test -f "$SYSROOT/flag" || { echo "no flag"; touch "$SYSROOT/flag"; exit 1; }'`,
      ),
    );
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain("no flag");
  });
});

describe("the ERR trap", () => {
  sandboxTest("names the failing line and command and dumps diagnostics once", async (sb) => {
    const r = await sb.run(libScript('info start\ncat "$SYSROOT/no-such-file"\ninfo never'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /step lib-test failed \(exit 1\) at line \d+ of the rendered script: cat "\$SYSROOT\/no-such-file"/,
    );
    expect(r.stderr.match(/---- diagnostics for step/g)).toHaveLength(1);
    expect(r.stderr).toContain("DIAG-CRICTL-PS");
    expect(r.stderr).not.toContain("never");
  });
});

describe("read_secret_bundle", () => {
  sandboxTest(
    "writes each entry to a 0600 file in a 0700 directory and never prints a value",
    async (sb) => {
      const bundle = renderSecretBundle({
        "certificate-key": CERT_KEY,
        "pki/etcd/ca.key": "KEY\n",
      });
      const r = await sb.run(libScript('read_secret_bundle "$SYSROOT/secrets"'), {
        stdin: bundle,
      });
      expect(r.code).toBe(0);
      expect(sb.read("/secrets/certificate-key")).toBe(CERT_KEY);
      expect(sb.read("/secrets/pki/etcd/ca.key")).toBe("KEY\n");
      expect(sb.mode("/secrets")).toBe(0o700);
      expect(sb.mode("/secrets/pki/etcd")).toBe(0o700);
      expect(sb.mode("/secrets/certificate-key")).toBe(0o600);
      expect(sb.mode("/secrets/pki/etcd/ca.key")).toBe(0o600);
      expect(r.stderr).toContain("read 2 secret(s) from stdin: certificate-key pki/etcd/ca.key");
      expect(r.stdout + r.stderr).not.toContain(CERT_KEY);
      expect(r.stdout + r.stderr).not.toContain(Buffer.from(CERT_KEY).toString("base64"));
    },
  );

  for (const [what, name] of [
    ["a parent-directory name", "../escape"],
    ["an absolute name", "/etc/shadow"],
    ["a name with .. inside", "pki/../../x"],
  ]) {
    sandboxTest(`refuses ${what}`, async (sb) => {
      const r = await sb.run(libScript('read_secret_bundle "$SYSROOT/secrets"'), {
        stdin: `${name} ${Buffer.from("x").toString("base64")}\n`,
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("refusing secret bundle entry with an unsafe name");
      expect(sb.exists("/escape")).toBe(false);
    });
  }

  sandboxTest("refuses a value that is not base64 without echoing it", async (sb) => {
    const r = await sb.run(libScript('read_secret_bundle "$SYSROOT/secrets"'), {
      stdin: "token not*base64!\n",
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("secret bundle entry 'token' is not base64");
    expect(r.stderr).not.toContain("not*base64!");
  });

  sandboxTest("accepts a last line without a newline", async (sb) => {
    const r = await sb.run(libScript('read_secret_bundle "$SYSROOT/s"'), {
      stdin: `token ${Buffer.from(TOKEN).toString("base64")}`,
    });
    expect(r.code).toBe(0);
    expect(sb.read("/s/token")).toBe(TOKEN);
  });
});

describe("write_file_if_changed", () => {
  const writeTwice = `
for i in 1 2; do
  if write_file_if_changed "$SYSROOT/etc/demo.conf" 0640 <<<"same content"; then
    emit_line "changed"
  else
    emit_line "unchanged"
  fi
done
if write_file_if_changed "$SYSROOT/etc/demo.conf" 0600 <<<"same content"; then emit_line "mode changed"; fi
`;

  sandboxTest(
    "writes once, then reports unchanged content as unchanged; a new mode is a change",
    async (sb) => {
      const r = await sb.run(libScript(writeTwice));
      expect(r.code).toBe(0);
      expect(r.stdout).toBe("changed\nunchanged\nmode changed\n");
      expect(sb.read("/etc/demo.conf")).toBe("same content\n");
      expect(sb.mode("/etc/demo.conf")).toBe(0o600);
    },
  );

  sandboxTest("leaves the file untouched (same mtime) when the content is the same", async (sb) => {
    sb.write("/etc/demo.conf", "same content\n", 0o640);
    const before = sb.snapshot();
    const r = await sb.run(
      libScript('write_file_if_changed "$SYSROOT/etc/demo.conf" 0640 <<<"same content" || true'),
    );
    expect(r.code).toBe(0);
    expect(sb.snapshot()).toEqual(before);
  });
});

describe("set_hosts_entry", () => {
  sandboxTest(
    "keeps other lines, replaces only its own line for the host, and converges",
    async (sb) => {
      sb.write("/etc/hosts", "127.0.0.1 localhost\n192.0.2.99 other.example # kubeadm-aws\n");
      const script = libScript(`
set_hosts_entry api.example 192.0.2.10
set_hosts_entry api.example 127.0.0.1
set_hosts_entry api.example 127.0.0.1`);
      const r = await sb.run(script);
      expect(r.code).toBe(0);
      expect(sb.read("/etc/hosts")).toBe(
        "127.0.0.1 localhost\n192.0.2.99 other.example # kubeadm-aws\n127.0.0.1 api.example # kubeadm-aws\n",
      );
      expect(r.stderr.match(/mapped api.example/g)).toHaveLength(2);
    },
  );

  sandboxTest(
    "also updates Debian's cloud-init hosts template so the line survives a reboot",
    async (sb) => {
      sb.write("/etc/hosts", "127.0.0.1 localhost\n");
      sb.write(
        "/etc/cloud/templates/hosts.debian.tmpl",
        "## template:jinja\n127.0.0.1 localhost\n",
      );
      const r = await sb.run(libScript("set_hosts_entry api.example 127.0.0.1"));
      expect(r.code).toBe(0);
      expect(sb.read("/etc/cloud/templates/hosts.debian.tmpl")).toContain(
        "127.0.0.1 api.example # kubeadm-aws\n",
      );
    },
  );
});

describe("clear_hosts_entry", () => {
  sandboxTest(
    "removes only its own line for the host, here and in the cloud-init template, and leaves a file without one untouched",
    async (sb) => {
      const hosts =
        "127.0.0.1 localhost\n192.0.2.10 api.example # kubeadm-aws\n192.0.2.99 other.example # kubeadm-aws\n";
      sb.write("/etc/hosts", hosts);
      sb.write("/etc/cloud/templates/hosts.debian.tmpl", "## template:jinja\n127.0.0.1 localhost");
      const r = await sb.run(
        libScript("clear_hosts_entry api.example\nclear_hosts_entry api.example"),
      );
      expect(r.code).toBe(0);
      expect(sb.read("/etc/hosts")).toBe(
        "127.0.0.1 localhost\n192.0.2.99 other.example # kubeadm-aws\n",
      );
      expect(r.stderr.match(/removed the mapping of api.example/g)).toHaveLength(1);
      // No line of ours there: not even rewritten (the missing final newline stays missing).
      expect(sb.read("/etc/cloud/templates/hosts.debian.tmpl")).toBe(
        "## template:jinja\n127.0.0.1 localhost",
      );
    },
  );
});

describe("check_kubeconfig", () => {
  /** kubectl's own layout (`kubectl config view --raw`), with a quoted current-context. */
  const KUBECTL_LAYOUT = `apiVersion: v1
clusters:
- cluster:
    server: https://api.k8s-dev.k8s.internal:6443
  name: k8s-dev
contexts:
- context:
    cluster: k8s-dev
    namespace: kube-system
    user: admin
  name: admin@k8s-dev
current-context: "admin@k8s-dev"
kind: Config
users:
- name: admin
  user: {}
`;
  const cases: [string, string, string][] = [
    ["kubectl's layout with a quoted current-context", KUBECTL_LAYOUT, ""],
    [
      "a current-context that names no context",
      KUBECTL_LAYOUT.replace('"admin@k8s-dev"', "other@k8s-dev"),
      'its current-context "other@k8s-dev" names no context in it',
    ],
    [
      "an empty current-context",
      KUBECTL_LAYOUT.replace('"admin@k8s-dev"', '""'),
      "it has no current-context",
    ],
    ["a file that is no kubeconfig", "apiVersion: v1\nkind: Pod\n", "it is not a kubeconfig"],
  ];
  for (const [what, text, problem] of cases) {
    sandboxTest(`${problem ? "refuses" : "accepts"} ${what}`, async (sb) => {
      sb.write("/kubeconfig", text, 0o600);
      const r = await sb.run(libScript('check_kubeconfig "$SYSROOT/kubeconfig" "the test file"'));
      expect(r.code).toBe(problem ? 1 : 0);
      expect(r.stderr).toContain(problem);
    });
  }
});

describe("redaction", () => {
  sandboxTest(
    "run_redacted hides certificate keys and bootstrap tokens but keeps the exit status",
    async (sb) => {
      const r = await sb.run(
        libScript(`rc=0
run_redacted "$SYSROOT/log" bash -c 'echo "--certificate-key ${CERT_KEY} --token ${TOKEN}"; exit 7' || rc=$?
emit_line "rc=$rc"`),
      );
      expect(r.stdout).toBe("rc=7\n");
      expect(r.stderr).toContain("--certificate-key <redacted> --token <redacted-token>");
      expect(r.stderr).not.toContain(CERT_KEY);
      expect(r.stderr).not.toContain(TOKEN);
      expect(sb.read("/log")).not.toContain(TOKEN);
    },
  );
});
