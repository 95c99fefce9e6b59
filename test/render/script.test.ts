import { execFileSync } from "child_process";
import { remoteInvocation, renderParam, renderSecretBundle, shellWord } from "../../render/script";

const bashEcho = (word: string) =>
  execFileSync("bash", ["-c", `v=${word}; printf %s "$v"`]).toString();

describe("shell quoting of script parameters", () => {
  test.each([
    "",
    "plain",
    "https://pkgs.k8s.io/core:/stable:/v1.34/deb/",
    "two words",
    "it's",
    "line one\nline two",
    "${ARCH} and $(touch /tmp/pwned) and `id`",
    `a'b"c\\d $e`,
  ])("%j survives bash unchanged", (value) => {
    expect(bashEcho(shellWord(value))).toBe(value);
  });

  test("safe words stay bare and the rest single-quoted, so previews read easily", () => {
    expect(shellWord("unix:///run/containerd/containerd.sock")).toBe(
      "unix:///run/containerd/containerd.sock",
    );
    expect(shellWord("a b")).toBe("'a b'");
  });

  test("arrays become bash arrays and names are checked", () => {
    expect(renderParam("NODES", ["a", "b c"])).toBe("readonly -a NODES=(a 'b c')");
    expect(() => renderParam("bad-name", "x")).toThrow("must match");
  });
});

describe("remote invocation", () => {
  test("runs the script with sudo from a root-only file, leaving stdin to the script", () => {
    const text = remoteInvocation("join", "#!/usr/bin/env bash\necho hi\n", "k8s-dev-worker-0");
    expect(text).toContain(
      "sudo -n tee /var/lib/kubeadm-aws/steps/join-k8s-dev-worker-0.sh >/dev/null <<'__KUBEADM_AWS_SCRIPT_END__'",
    );
    expect(text.trim().split("\n").at(-1)).toBe(
      "sudo -n chmod 0700 /var/lib/kubeadm-aws/steps/join-k8s-dev-worker-0.sh && sudo -n bash /var/lib/kubeadm-aws/steps/join-k8s-dev-worker-0.sh",
    );
  });

  test("refuses a script that contains the heredoc delimiter", () => {
    expect(() => remoteInvocation("init", "echo __KUBEADM_AWS_SCRIPT_END__")).toThrow(
      "heredoc delimiter",
    );
  });
});

describe("secret bundle", () => {
  test("is one `name base64` line per secret, sorted, with PEM newlines intact", () => {
    const bundle = renderSecretBundle({ token: "t0k3n", "pki/ca.key": "-----BEGIN-----\nabc\n" });
    const lines = bundle.trim().split("\n");
    expect(lines.map((l) => l.split(" ")[0])).toEqual(["pki/ca.key", "token"]);
    expect(Buffer.from(lines[0]!.split(" ")[1]!, "base64").toString()).toBe(
      "-----BEGIN-----\nabc\n",
    );
  });

  test("rejects entry names that could escape the secret directory", () => {
    expect(() => renderSecretBundle({ "../etc/passwd": "x" })).toThrow("not allowed");
    expect(() => renderSecretBundle({ "/abs": "x" })).toThrow("not allowed");
  });
});
