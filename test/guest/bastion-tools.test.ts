/**
 * bastion-tools: kubectl at exactly the cluster's version from pkgs.k8s.io, held, plus the curl and
 * CA certificates the bastion steps use, and nothing else (the bastion is no node); a second run
 * changes nothing.
 */
import { execFileSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";

import { renderBastionTools } from "../../render/steps";
import { callsOf, runTwice, Sandbox, sandboxTest, scenario } from "./sandbox";

const script = renderBastionTools({ kubernetesVersion: "1.34.2", packageManager: "apt" });

/** Ubuntu 24.04's cloud image as the bastion starts: curl, gpg and the CA certificates included. */
function freshBastion(sb: Sandbox, preinstalled = ["ca-certificates", "curl", "gpg"]): Sandbox {
  sb.write(
    "/etc/os-release",
    'PRETTY_NAME="Ubuntu 24.04.3 LTS"\nID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=noble\n',
  );
  for (const pkg of preinstalled) {
    sb.installPackage(pkg, "1.0-1");
  }
  return sb;
}

/** The package lists of the apt-get install calls, in order. */
const installs = (calls: string[]): string[] =>
  calls.filter((c) => / install /.test(c)).map((c) => c.replace(/.* install /, ""));

describe("bastion-tools on a fresh Ubuntu bastion, then a second run", () => {
  const runs = scenario((sb) => runTwice(freshBastion(sb), script));

  test("adds the pkgs.k8s.io repository of the cluster's minor version", () => {
    const { sb, first, firstCalls } = runs();
    expect(first.code).toBe(0);
    expect(first.stdout).toBe("");
    expect(sb.read("/etc/apt/sources.list.d/kubernetes.list")).toBe(
      "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v1.34/deb/ /\n",
    );
    expect(firstCalls).toContainEqual(
      expect.stringMatching(
        /^curl .* https:\/\/pkgs\.k8s\.io\/core:\/stable:\/v1\.34\/deb\/Release\.key$/,
      ),
    );
    expect(sb.read("/etc/apt/keyrings/kubernetes-apt-keyring.gpg")).toMatch(/^DEARMORED\n/);
  });

  test("installs only kubectl, at the exact package revision, and holds it", () => {
    const { sb, firstCalls } = runs();
    expect(installs(firstCalls)).toEqual([
      "--no-install-recommends --allow-downgrades --allow-change-held-packages kubectl=1.34.2-1.1",
    ]);
    expect(firstCalls).toContain("apt-mark hold kubectl");
    expect(firstCalls.filter((c) => c.startsWith("apt-mark hold"))).toHaveLength(1);
    // No kubeadm, kubelet, cri-tools or container runtime: the bastion is no node.
    expect(sb.stateFile("pkg/kubectl")).toBe("1.34.2-1.1\n");
    for (const pkg of ["kubeadm", "kubelet", "cri-tools", "containerd.io"]) {
      expect(() => sb.stateFile(`pkg/${pkg}`)).toThrow();
    }
    expect(firstCalls.some((c) => /^systemctl (enable|start|restart|mask)\b/.test(c))).toBe(false);
  });

  test("a second run installs, downloads and changes nothing", () => {
    const { second, secondCalls, changed } = runs();
    expect(second.code).toBe(0);
    expect(second.stderr).toContain("kubectl already at 1.34.2");
    expect(
      secondCalls.filter((c) => /^(apt-get|curl|gpg|apt-mark (hold|unhold))\b/.test(c)),
    ).toEqual([]);
    expect(changed).toEqual([]);
  });
});

sandboxTest(
  "bastion-tools installs curl and the CA certificates when the image lacks them",
  async (sb) => {
    freshBastion(sb, ["gpg"]);
    const r = await sb.run(script);
    expect(r.code).toBe(0);
    expect(installs(callsOf(sb, "apt-get"))).toEqual([
      "--no-install-recommends ca-certificates curl",
      "--no-install-recommends --allow-downgrades --allow-change-held-packages kubectl=1.34.2-1.1",
    ]);
  },
);

sandboxTest(
  "bastion-tools moves a held kubectl of another version to the pinned one",
  async (sb) => {
    freshBastion(sb);
    sb.installPackage("kubectl", "1.34.1-1.1");
    fs.writeFileSync(path.join(sb.state, "hold", "kubectl"), ""); // held, as apt-mark would
    const r = await sb.run(script);
    expect(r.code).toBe(0);
    const apt = callsOf(sb, "apt-mark").filter((c) => !c.endsWith("showhold"));
    expect(apt).toEqual(["apt-mark unhold kubectl", "apt-mark hold kubectl"]);
    expect(sb.stateFile("pkg/kubectl")).toBe("1.34.2-1.1\n");
  },
);

/** A Helm release tarball as get.helm.sh ships it (linux-<arch>/helm), built here; its sha256. */
function helmTarball(dir: string, arch = "arm64"): { file: string; sha256: string } {
  const work = fs.mkdtempSync(path.join(dir, "helm-"));
  fs.mkdirSync(path.join(work, `linux-${arch}`));
  fs.writeFileSync(
    path.join(work, `linux-${arch}`, "helm"),
    `#!/usr/bin/env bash\n[[ "$1" == version ]] && printf v3.21.4\n`,
    { mode: 0o755 },
  );
  const file = path.join(dir, `helm-${arch}.tar.gz`);
  execFileSync("tar", ["-czf", file, "-C", work, `linux-${arch}`]);
  const sha256 = createHash("sha256").update(fs.readFileSync(file)).digest("hex");
  return { file, sha256 };
}

const helmScript = (sha256: string) =>
  renderBastionTools({
    kubernetesVersion: "1.34.2",
    packageManager: "apt",
    helm: {
      version: "v3.21.4",
      urlTemplate: "https://get.helm.sh/helm-v3.21.4-linux-{ARCH}.tar.gz",
      sha256: { amd64: "0".repeat(64), arm64: sha256 },
    },
  });

sandboxTest(
  "with the AWS add-ons it installs the pinned Helm for the bastion's architecture, once",
  async (sb) => {
    freshBastion(sb);
    const tarball = helmTarball(sb.dir);
    const script = helmScript(tarball.sha256);
    const env = { DOUBLE_ARCH: "arm64", DOUBLE_HELM_TARBALL: tarball.file };
    const first = await sb.run(script, { env });
    expect(first.code).toBe(0);
    expect(first.stderr).toContain(`installed helm v3.21.4 (sha256 ${tarball.sha256})`);
    expect(sb.mode("/usr/local/bin/helm")).toBe(0o755);
    expect(callsOf(sb, "curl")).toEqual(
      expect.arrayContaining([
        expect.stringContaining("https://get.helm.sh/helm-v3.21.4-linux-arm64.tar.gz"),
        expect.stringContaining("https://get.helm.sh/helm-v3.21.4-linux-arm64.tar.gz.sha256sum"),
      ]),
    );
    sb.clearCalls();
    const second = await sb.run(script, { env });
    expect(second.code).toBe(0);
    expect(second.stderr).toContain("helm v3.21.4 is installed");
    expect(callsOf(sb, "curl")).toEqual([]);
  },
);

sandboxTest("a Helm tarball that is not the pinned one is refused", async (sb) => {
  freshBastion(sb);
  const tarball = helmTarball(sb.dir);
  const r = await sb.run(helmScript("a".repeat(64)), {
    env: { DOUBLE_ARCH: "arm64", DOUBLE_HELM_TARBALL: tarball.file },
  });
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain(`publishes sha256 ${tarball.sha256}`);
  expect(r.stderr).toContain("not installing it");
  expect(() => sb.read("/usr/local/bin/helm")).toThrow();
});

sandboxTest("a published checksum that disagrees with the pin is refused", async (sb) => {
  freshBastion(sb);
  const tarball = helmTarball(sb.dir);
  const r = await sb.run(helmScript(tarball.sha256), {
    env: {
      DOUBLE_ARCH: "arm64",
      DOUBLE_HELM_TARBALL: tarball.file,
      DOUBLE_HELM_PUBLISHED_SHA256: "b".repeat(64),
    },
  });
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain(`but the program pins ${tarball.sha256}`);
});
