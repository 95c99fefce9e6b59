/**
 * Pure renderers that turn a guest script in `guest/*.sh` plus its parameters into the exact
 * text that runs on a node. Nothing here imports `@pulumi/*`, so it is tested without mocks.
 *
 * A rendered step is: a shebang and strict mode, one `readonly NAME='value'` line per parameter
 * (shell-quoted by `shell-quote`), the shared libraries (`LIBRARIES`), then the step's own body.
 * Secrets never appear in parameters: they travel on stdin as a secret bundle (see
 * `renderSecretBundle`), so the rendered text stays reviewable in a pull-request preview.
 */
import * as fs from "fs";
import * as path from "path";
import type { PackageManager } from "../config/osFamily";
import { quote } from "shell-quote";

/**
 * Every guest step, each a file `guest/<step>.sh`. bastion-tools, etcd-prune, register-node, cni,
 * helm-release, cluster-ready, remove-node, release-cloud-resources, upgrade-preflight and
 * node-rollout run on the bastion; the others on the nodes (etcd-snapshot and cert-renewal from
 * the control planes' timers, which node-timers installs; etcd-restore from `npm run
 * etcd-restore`).
 */
export const STEPS = [
  "wait-ready",
  "prepare",
  "bastion-tools",
  "init",
  "etcd-prune",
  "join",
  "register-node",
  "cni",
  "helm-release",
  "cluster-ready",
  "remove-node",
  "release-cloud-resources",
  "upgrade-preflight",
  "upgrade-node",
  "node-rollout",
  "node-timers",
  "etcd-snapshot",
  "cert-renewal",
  "etcd-restore",
  "drift-probe",
] as const;
export type StepName = (typeof STEPS)[number];

/** A parameter value: strings and numbers become scalars, string arrays become bash arrays. */
export type ParamValue = string | number | boolean | readonly string[];
export type ScriptParams = Readonly<Record<string, ParamValue>>;

const PARAM_NAME = /^[A-Z][A-Z0-9_]*$/;
/** Characters that never need quoting in bash words. */
const SAFE_WORD = /^[A-Za-z0-9_./:@%+=,-]+$/;

/**
 * Quotes one value for bash, preferring the form a reviewer reads most easily: bare for safe
 * words, single quotes when the value holds no single quote (nothing expands inside them), and
 * `shell-quote` for the rest.
 */
export function shellWord(value: string): string {
  if (SAFE_WORD.test(value)) return value;
  if (!value.includes("'")) return `'${value}'`;
  return quote([value]);
}

/** The folder of guest scripts (what runs on the machines), beside this folder. */
export const GUEST_DIR = path.join(__dirname, "..", "guest");

const scriptFiles = new Map<string, string>();

/** Reads a guest script file from `guest/` (once per process: a program renders dozens of steps). */
export function readScriptFile(fileName: string): string {
  let text = scriptFiles.get(fileName);
  if (text === undefined) {
    text = fs.readFileSync(path.join(GUEST_DIR, fileName), "utf8");
    scriptFiles.set(fileName, text);
  }
  return text;
}

/** The package library of each package manager: the same functions, for apt or for dnf. */
export const PACKAGE_LIBRARIES: Readonly<Record<PackageManager, string>> = {
  apt: "lib-apt.sh",
  dnf: "lib-dnf.sh",
};

/** Every library file in guest/ (the render writes them all to lib/). */
export const LIBRARIES = [
  "lib.sh",
  "lib-packages.sh",
  "lib-apt.sh",
  "lib-dnf.sh",
  "lib-kubeadm.sh",
] as const;

/**
 * The libraries a step starts with, in order: lib.sh (core; it checks the environment, so it
 * comes first), for a step with a PACKAGE_MANAGER parameter (only the steps that install
 * packages have one) lib-packages.sh and that package manager's library, lib-kubeadm.sh
 * (Kubernetes).
 */
export function librariesFor(packageManager?: PackageManager): string[] {
  const packages = packageManager ? ["lib-packages.sh", PACKAGE_LIBRARIES[packageManager]] : [];
  return ["lib.sh", ...packages, "lib-kubeadm.sh"];
}

/** The libraries' text, as prepended to a step with that package manager (or none). */
export function libraryText(packageManager?: PackageManager): string {
  return librariesFor(packageManager)
    .map((file) => bodyOf(readScriptFile(file)))
    .join("\n");
}

/** A step's package manager, from its PACKAGE_MANAGER parameter (absent: none). */
function packageManagerOf(params: ScriptParams): PackageManager | undefined {
  const value = params.PACKAGE_MANAGER;
  if (value === undefined) return undefined;
  if (value !== "apt" && value !== "dnf") {
    throw new Error(`PACKAGE_MANAGER must be apt or dnf (got ${JSON.stringify(value)})`);
  }
  return value;
}

/** Strips the shebang from a guest file. */
function bodyOf(text: string): string {
  return text.replace(/^#!.*\n/, "");
}

/** Renders one `readonly NAME=value` line; arrays become `readonly -a NAME=(...)`. */
export function renderParam(name: string, value: ParamValue): string {
  if (!PARAM_NAME.test(name)) {
    throw new Error(`script parameter name ${JSON.stringify(name)} must match ${PARAM_NAME}`);
  }
  if (Array.isArray(value)) {
    const items = (value as readonly string[]).map(shellWord).join(" ");
    return `readonly -a ${name}=(${items})`;
  }
  return `readonly ${name}=${shellWord(String(value))}`;
}

/**
 * Renders a complete, self-contained bash script for one step.
 * The output is deterministic for the same inputs (parameters are emitted in sorted order), so
 * its hash is a stable trigger and a diff in review shows exactly what changed.
 */
export function renderScript(step: StepName, params: ScriptParams = {}): string {
  const names = Object.keys(params).sort();
  const header = [
    "#!/usr/bin/env bash",
    `# kubeadm-aws step: ${step}. Generated from guest/${step}.sh; parameters below.`,
    "set -Eeuo pipefail",
    `readonly STEP=${shellWord(step)}`,
    ...names.flatMap((n) => {
      const line = renderParam(n, params[n] as ParamValue);
      // A value that is itself a script (node-timers' jobs) holds `$`s meant for later, quoted
      // on purpose: shellcheck's "expressions don't expand in single quotes" does not apply.
      if (n === "PACKAGE_MANAGER") {
        return ["# shellcheck disable=SC2034 # also names the package library below", line];
      }
      return /\$/.test(String(params[n])) && line.includes("'")
        ? ["# shellcheck disable=SC2016 # a script's text, expanded when it runs", line]
        : [line];
    }),
  ].join("\n");
  return [header, libraryText(packageManagerOf(params)), bodyOf(readScriptFile(`${step}.sh`))].join(
    "\n",
  );
}

/** Where node-timers installs the libraries for the control planes' timer jobs. */
export const JOB_LIBRARY = "/usr/local/lib/kubeadm-aws/lib.sh";

/**
 * A timer job's script (etcd-snapshot, cert-renewal): the same header as a step, then, instead
 * of the libraries themselves, a `source` of the copy node-timers installs (it writes the
 * libraries it runs with, guest/node-timers.sh), then the job's body. The job is linted in its
 * full form (renderScript), which is what runs once the source line is resolved.
 */
export function renderJobScript(step: StepName, params: ScriptParams = {}): string {
  const full = renderScript(step, params);
  const libs = `\n${libraryText()}\n`;
  const at = full.indexOf(libs);
  if (at < 0) throw new Error(`the ${step} job does not hold the libraries`);
  const source = [
    "# The libraries, as node-timers installed them beside this job.",
    "# shellcheck source=/dev/null",
    `source "\${KUBEADM_AWS_ROOT:-}${JOB_LIBRARY}"`,
  ].join("\n");
  return `${full.slice(0, at)}\n${source}\n${full.slice(at + libs.length)}`;
}

/** The heredoc delimiter; a script that contains it is rejected rather than silently truncated. */
const HEREDOC_END = "__KUBEADM_AWS_SCRIPT_END__";

/**
 * Wraps a rendered script into the command string `remote.Command` runs over SSH as the image's
 * login user. The script is written to a root-only file (kept for troubleshooting under
 * /var/lib/kubeadm-aws/steps) and run with sudo; the session's stdin (the secret bundle, if any)
 * flows through to the script untouched.
 */
export function remoteInvocation(step: StepName, script: string, instanceTag = "node"): string {
  if (script.includes(HEREDOC_END)) {
    throw new Error(`the ${step} script contains the heredoc delimiter ${HEREDOC_END}`);
  }
  const file = `/var/lib/kubeadm-aws/steps/${step}-${instanceTag}.sh`;
  return [
    `sudo -n install -d -m 0700 /var/lib/kubeadm-aws/steps`,
    `sudo -n tee ${shellWord(file)} >/dev/null <<'${HEREDOC_END}'`,
    script.replace(/\n*$/, ""),
    HEREDOC_END,
    `sudo -n chmod 0700 ${shellWord(file)} && sudo -n bash ${shellWord(file)}`,
  ].join("\n");
}

/**
 * The secret bundle read by `read_secret_bundle` in lib.sh: one `name base64(value)` line per
 * secret. Names are plain identifiers or relative paths; base64 keeps PEM newlines intact.
 */
export function renderSecretBundle(secrets: Readonly<Record<string, string>>): string {
  return (
    Object.keys(secrets)
      .sort()
      .map((name) => {
        if (!/^[a-z0-9][a-z0-9._/-]*$/.test(name) || name.includes("..")) {
          throw new Error(`secret bundle entry name ${JSON.stringify(name)} is not allowed`);
        }
        return `${name} ${Buffer.from(secrets[name] as string, "utf8").toString("base64")}`;
      })
      .join("\n") + "\n"
  );
}
