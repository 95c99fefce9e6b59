/**
 * `npm run render`: evaluates the program for each stack file without cloud access and writes
 * what will run on each machine: a summary first, the shared libraries once, and per node each
 * step with its review notes. A step file plus lib/ must be exactly what the program runs, pass
 * shellcheck, and hold no secret.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readScriptFile } from "../../render/script";
import { PINNED } from "../../render/versions";
import { shellcheck } from "../support/shellcheck";
import { LIB_DIR, librariesLine, reassembleStep, SUMMARY_FILE } from "../../tools/renderLayout";
import { RenderResult, renderPlan } from "../../tools/renderPlan";

const root = path.resolve(__dirname, "..", "..");
const out = fs.mkdtempSync(path.join(os.tmpdir(), "kubeadm-aws-render-"));
const rendered: Record<string, RenderResult> = {};

beforeAll(async () => {
  for (const stack of ["dev", "prod"]) {
    rendered[stack] = await renderPlan(stack, path.join(out, stack), root);
  }
});

afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

const read = (stack: string, rel: string) => fs.readFileSync(path.join(out, stack, rel), "utf8");
const files = (stack: string) => rendered[stack]!.files;
const stepFiles = (stack: string) =>
  files(stack).filter((f) => f.endsWith(".sh") && !f.startsWith(`${LIB_DIR}/`));
const LIBS = ["lib.sh", "lib-packages.sh", "lib-apt.sh", "lib-dnf.sh", "lib-kubeadm.sh"];
const libraries = () => LIBS.map((f) => read("prod", `lib/${f}`));
/** A lib/ file's text, as reassembleStep reads it. */
const library = (file: string) => read("prod", `lib/${file}`);

test("dev renders one control plane and one worker with Flannel", () => {
  expect(files("dev")).toEqual(
    expect.arrayContaining([
      "00-summary.md",
      "lib/lib.sh",
      "lib/lib-apt.sh",
      "lib/lib-kubeadm.sh",
      "k8s-dev-cp-0/wait-ready.sh",
      "k8s-dev-cp-0/prepare.sh",
      "k8s-dev-cp-0/init.sh",
      "k8s-dev-cp-0/init.stdin",
      "k8s-dev-cp-0/kubeadm-init.yaml",
      "k8s-dev-cp-0/join.sh",
      "k8s-dev-cp-0/member.sh",
      "k8s-dev-worker-0/join.sh",
      "k8s-dev-worker-0/join.stdin",
      "k8s-dev-worker-0/kubeadm-join.yaml",
      "k8s-dev-worker-0/member.sh",
      "k8s-dev-worker-0/member.delete.sh",
      "cluster/bastion-wait-ready.sh",
      "cluster/bastion-tools.sh",
      "cluster/cni.sh",
      "cluster/cni.stdin",
      "cluster/cluster-ready.sh",
    ]),
  );
  expect(files("dev").filter((f) => /creds|kubeconfig\.sh/.test(f))).toEqual([]);
  expect(read("dev", "cluster/cni.sh")).toContain("readonly CNI=flannel");
});

test("prod renders three control planes, three workers and Calico's resources", () => {
  const joins = files("prod").filter((f) => f.endsWith("/join.sh"));
  expect(joins).toHaveLength(6);
  expect(files("prod")).toContain("cluster/calico-resources.yaml");
  expect(read("prod", "k8s-prod-cp-2/kubeadm-join.yaml")).toContain("controlPlane:");
  expect(read("prod", "k8s-prod-worker-2/kubeadm-join.yaml")).not.toContain("controlPlane:");
});

test("my-ip renders as a documentation address, never a real one or 0.0.0.0/0", () => {
  // The dev stack's SSH CIDR is my-ip; rendering resolves it without the network.
  const all = files("dev").map((f) => read("dev", f));
  for (const text of all) expect(text).not.toContain("0.0.0.0/0");
  expect(rendered.dev!.summary).toContain("| SSH ingress | my-ip (rendered as 192.0.2.1/32) |");
});

test("secrets are placeholders: stdin files name their entries only", () => {
  expect(read("prod", "k8s-prod-cp-1/join.stdin").split("\n")).toEqual([
    "discovery.conf <secret>",
    "pki/ca.crt <secret>",
    "pki/ca.key <secret>",
    "pki/etcd/ca.crt <secret>",
    "pki/etcd/ca.key <secret>",
    "pki/front-proxy-ca.crt <secret>",
    "pki/front-proxy-ca.key <secret>",
    "pki/sa.key <secret>",
    "pki/sa.pub <secret>",
    "",
  ]);
  expect(read("prod", "k8s-prod-worker-1/join.stdin")).toBe("discovery.conf <secret>\n");
  expect(read("prod", "cluster/cni.stdin")).toBe("kubeconfig <secret>\n");
  for (const stack of ["dev", "prod"]) {
    for (const f of files(stack)) {
      const text = read(stack, f);
      expect(text).not.toContain("PRIVATE KEY");
      expect(text).not.toContain("BEGIN CERTIFICATE");
    }
  }
});

test("the output starts with the summary, and prod stays under 600 KB", () => {
  for (const stack of ["dev", "prod"]) {
    expect(files(stack)[0]).toBe(SUMMARY_FILE);
    expect(read(stack, SUMMARY_FILE)).toBe(rendered[stack]!.summary);
  }
  const bytes = files("prod").reduce((n, f) => n + fs.statSync(path.join(out, "prod", f)).size, 0);
  // Every join and member script once per node, cp-0's included, and each control plane's
  // timer jobs (about 19 KB each): reviewable, not a flood.
  expect(bytes).toBeLessThan(600 * 1024);
});

test("the libraries are written once, without their shebang, and no step file holds them", () => {
  for (const [i, file] of LIBS.entries()) {
    expect(libraries()[i]).toBe(readScriptFile(file).replace(/^#!.*\n/, ""));
  }
  expect(files("prod").filter((f) => f.startsWith("lib/"))).toHaveLength(5);
  // Every function the libraries define; a step may call them, never define them again.
  const definitions = libraries()
    .join("\n")
    .split("\n")
    .filter((line) => /^[a-z_]+\(\) \{/.test(line));
  expect(definitions.length).toBeGreaterThan(30);
  const libBody = libraries()[0]!;
  for (const stack of ["dev", "prod"]) {
    for (const f of stepFiles(stack)) {
      const text = read(stack, f);
      expect(text).not.toContain(libBody.slice(0, 2000));
      for (const d of definitions)
        expect({ f, defines: text.includes(`\n${d}`) }).toEqual({ f, defines: false });
      // One line where the libraries run, naming the lib/ files: the package library only in
      // the steps that install packages.
      const lines = text.split("\n").filter((l) => l.startsWith("# ---- the shared libraries"));
      expect(lines).toHaveLength(1);
      const packages =
        /^(prepare|wait-ready|bastion-wait-ready|bastion-tools|upgrade-node)\.sh$/.test(
          path.basename(f),
        );
      expect(lines[0]).toBe(
        librariesLine(
          packages
            ? ["lib.sh", "lib-packages.sh", "lib-apt.sh", "lib-kubeadm.sh"]
            : ["lib.sh", "lib-kubeadm.sh"],
        ),
      );
    }
  }
  expect(librariesLine(["lib.sh", "lib-kubeadm.sh"])).toBe(
    "# ---- the shared libraries run here, in this order: ../lib/lib.sh ../lib/lib-kubeadm.sh ----",
  );
});

test("a step file with lib/ is exactly the script the program runs on the node", () => {
  for (const stack of ["dev", "prod"]) {
    const steps = rendered[stack]!.steps;
    expect(steps.length).toBeGreaterThan(10);
    for (const s of steps) {
      expect(reassembleStep(read(stack, s.file), library)).toBe(s.create);
      if (s.deleteFile) expect(reassembleStep(read(stack, s.deleteFile), library)).toBe(s.delete);
    }
  }
});

test("each step file starts with notes: resource, host, triggers, stdin names, delete script", () => {
  const join = read("prod", "k8s-prod-cp-1/join.sh").split("\n");
  expect(join[0]).toBe("#!/usr/bin/env bash");
  expect(join.slice(1, 9)).toEqual([
    "# ==== npm run render: review notes ====",
    "# resource: k8s-prod-cp-1-join (its create script)",
    expect.stringMatching(
      /^# runs on: {2}k8s-prod-cp-1 \(10\.0\.(3[2-9]|[45]\d|6[0-3])\.\d+\), over SSH through the bastion 198\.51\.100\.\d+$/,
    ),
    "# triggers: k8s-prod-cp-1 (replacing one runs the step again)",
    expect.stringMatching(
      /^# stdin: {4}discovery\.conf, pki\/ca\.crt, .*pki\/sa\.pub \(names only: join\.stdin\)$/,
    ),
    "# delete:   no delete script",
    "# ==== what runs on the node follows; the libraries are in lib/ ====",
    "# kubeadm-aws step: join. Generated from guest/join.sh; parameters below.",
  ]);
  const member = read("prod", "k8s-prod-worker-1/member.sh");
  expect(member).toMatch(/# runs on: {2}bastion \(198\.51\.100\.\d+\), over SSH\n/);
  expect(member).toContain("# triggers: k8s-prod-worker-1 (");
  expect(member).toContain("# stdin:    kubeconfig (names only: member.stdin)\n");
  expect(member).toContain("# delete:   member.delete.sh\n");
  expect(member).toContain(
    "#           skipped when k8s-prod-net-vpc is deleted in the same operation",
  );
  expect(read("prod", "k8s-prod-worker-1/member.delete.sh")).toContain(
    "# delete:   this file runs when k8s-prod-worker-1-member is deleted",
  );
});

describe("the summary", () => {
  const summary = () => rendered.prod!.summary;
  const stepRows = () =>
    summary()
      .split("\n## Steps")[1]!
      .split("\n")
      .filter((l) => l.startsWith("| k8s-"));
  const order = () => rendered.prod!.steps.map((s) => s.resource);

  test("lists every node: name, role, zone, instance type, private IP, node name", () => {
    expect(summary().startsWith("# Rendered plan: stack prod\n")).toBe(true);
    const nodes = rendered.prod!.nodes;
    expect(nodes.map((n) => n.name)).toEqual([
      "k8s-prod-cp-0",
      "k8s-prod-cp-1",
      "k8s-prod-cp-2",
      "k8s-prod-worker-0",
      "k8s-prod-worker-1",
      "k8s-prod-worker-2",
    ]);
    for (const n of nodes) {
      expect(summary()).toContain(
        `| ${n.name} | ${n.role} | ${n.zone} | ${n.instanceType} | ${n.privateIp} | ${n.publicIp} | ${n.nodeName} |`,
      );
    }
    // Each address inside its zone's subnet (10.0.32.0/19 for b, 10.0.64.0/19 for c).
    expect(summary()).toMatch(
      /\| k8s-prod-cp-1 \| control-plane \| us-east-1b \| m7i\.large \| 10\.0\.(3[2-9]|[45]\d|6[0-3])\.\d+ \|/,
    );
    expect(summary()).toMatch(
      /\| k8s-prod-worker-2 \| worker \| us-east-1c \| m7i\.xlarge \| 10\.0\.(6[4-9]|[7-8]\d|9[0-5])\.\d+ \|/,
    );
  });

  test("lists every step in bootstrap order: init before every join, control planes one by one", () => {
    expect(stepRows().map((r) => r.split(" | ")[0]!.slice(2))).toEqual(order());
    expect(order()).toHaveLength(rendered.prod!.steps.length);
    const at = (name: string) => order().indexOf(`k8s-prod-${name}`);
    for (const name of order().filter((n) => n.endsWith("-join"))) {
      expect(at("cp-0-init")).toBeLessThan(order().indexOf(name));
    }
    expect(at("cp-0-join")).toBeLessThan(at("cp-1-join"));
    expect(at("cp-1-join")).toBeLessThan(at("cp-2-join"));
    expect(at("cp-1-member")).toBeLessThan(at("cp-2-member"));
    // Ties by name: both wait for every node and add-on.
    expect(order().slice(-2)).toEqual([
      "k8s-prod-cluster-ready",
      "k8s-prod-release-cloud-resources",
    ]);
    // Every step after the steps it depends on.
    for (const s of rendered.prod!.steps) {
      for (const dep of s.after)
        expect(order().indexOf(dep)).toBeLessThan(order().indexOf(s.resource));
    }
  });

  test("says where each step runs and which nodes trigger it", () => {
    const row = (name: string) => stepRows().find((r) => r.startsWith(`| k8s-prod-${name} |`))!;
    const ip = (node: string) => rendered.prod!.nodes.find((n) => n.name === node)!.privateIp;
    expect(row("cp-1-join")).toMatch(
      new RegExp(
        `^\\| k8s-prod-cp-1-join \\| k8s-prod-cp-1/join\\.sh \\| k8s-prod-cp-1 \\(${ip("k8s-prod-cp-1").replaceAll(".", "\\.")}\\) \\| k8s-prod-cp-1 \\| k8s-prod-cp-0-init, k8s-prod-cp-0-join, k8s-prod-cp-1-prepare, k8s-prod-etcd-prune \\| discovery\\.conf, pki/ca\\.crt,`,
      ),
    );
    expect(row("worker-0-member")).toMatch(
      /\| bastion \(198\.51\.100\.\d+\) \| k8s-prod-worker-0 \|/,
    );
    expect(row("worker-0-member")).toContain(
      "| k8s-prod-worker-0/member.delete.sh, skipped when k8s-prod-net-vpc goes too |",
    );
    expect(row("cluster-ready")).toContain(
      "| k8s-prod-cp-0, k8s-prod-cp-1, k8s-prod-cp-2, k8s-prod-worker-0, k8s-prod-worker-1, k8s-prod-worker-2, 1.34.2 |",
    );
  });

  test("holds the pinned versions, the cluster's settings and the warnings", () => {
    expect(summary()).toContain("| Kubernetes (kubeadm, kubelet, kubectl) | 1.34.2 |");
    for (const [name, version] of Object.entries(PINNED)) {
      expect(summary()).toContain(`| ${name} | ${version} |`);
    }
    expect(summary()).toContain("| region | us-east-1 |");
    expect(summary()).toContain("| CNI | calico |");
    // prod's placeholder CIDRs: accepted by the render, refused by a real run.
    expect(rendered.prod!.warnings).toEqual([
      expect.stringMatching(
        /^a real `pulumi up` refuses this: sshIngressCidrs\[0\] 198\.51\.100\.0\/24/,
      ),
      expect.stringMatching(
        /^a real `pulumi up` refuses this: apiIngressCidrs\[0\] 198\.51\.100\.0\/24/,
      ),
    ]);
    for (const w of rendered.prod!.warnings) expect(summary()).toContain(`- ${w}\n`);
    expect(rendered.dev!.warnings).toEqual([]);
    expect(rendered.dev!.summary).toContain("## Warnings\n\n- none\n");
  });
});

test("every rendered script passes bash -n, and the kinds with rich values, with lib/, pass shellcheck", async () => {
  const scripts = ["dev", "prod"].flatMap((s) => stepFiles(s).map((f) => path.join(out, s, f)));
  expect(scripts.length).toBeGreaterThan(40);
  for (const s of scripts) execFileSync("bash", ["-n", s]);
  // Every step kind is shellchecked in test/guest/lint.test.ts, rendered by the same
  // render/steps.ts functions, so with the same parameter names; the program's own values differ.
  // Here shellcheck takes the kinds whose values are documents or scripts (multi-line, quotes,
  // `$`): kubeadm's configs, the CNI's manifests, the timers' jobs, the Helm values. A step file
  // runs with the libraries in place of its marker line: lint it that way, as one script.
  const RICH = new Set(["init.sh", "join.sh", "cni.sh", "timers.sh", "cloud-controller.sh"]);
  const kinds = new Map<string, string>();
  for (const s of scripts) if (RICH.has(path.basename(s))) kinds.set(path.basename(s), s);
  const whole = fs.mkdtempSync(path.join(out, "whole-"));
  const wholeFiles = [...kinds].map(([kind, file]) => {
    const target = path.join(whole, kind);
    fs.writeFileSync(target, reassembleStep(fs.readFileSync(file, "utf8"), library));
    return target;
  });
  expect(wholeFiles.length).toBe(RICH.size);
  // Two halves in parallel: shellcheck is single-threaded and the slowest part of this test.
  const half = Math.ceil(wholeFiles.length / 2);
  await Promise.all([shellcheck(wholeFiles.slice(0, half)), shellcheck(wholeFiles.slice(half))]);
});
