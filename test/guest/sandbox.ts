/**
 * Runs the real rendered guest scripts in bash inside a throwaway sandbox:
 * - every filesystem path the scripts touch is prefixed with KUBEADM_AWS_ROOT (see lib.sh);
 * - PATH holds only the recording test doubles in ./doubles and symlinks to a short list of
 *   harmless tools (coreutils, sed, awk, psmisc's fuser, ...), so a missing double fails loudly
 *   instead of reaching the real systemctl or apt-get of the machine running the tests;
 * - polls and retries are made fast with KUBEADM_AWS_POLL_SECONDS and
 *   KUBEADM_AWS_RETRY_DELAY_SECONDS.
 */
import { type ChildProcess, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

import type { PackageManager } from "../../config/osFamily";
import { libraryText } from "../../render/script";

export const DOUBLES_DIR = path.join(__dirname, "doubles");

/**
 * Real tools the scripts and doubles may use; everything else must be a double. fuser is the real
 * one from Debian's psmisc (CI installs it): it only reads /proc (the scripts never pass -k), and
 * the apt lock tests need it to find real processes that hold lock files in the sandbox.
 */
const SAFE_TOOLS = [
  "bash",
  "awk",
  "base64",
  "basename",
  "cat",
  "chmod",
  "cmp",
  "cp",
  "cut",
  "date",
  "dirname",
  "env",
  "find",
  "fuser",
  "grep",
  "gzip",
  "head",
  "install",
  "ln",
  "ls",
  "mkdir",
  "mktemp",
  "mv",
  "paste",
  "readlink",
  "rm",
  "sed",
  "sha256sum",
  "sleep",
  "sort",
  "stat",
  "tail",
  "tar",
  "tee",
  "timeout",
  "touch",
  "tr",
  "wc",
];

function findOnPath(tool: string): string {
  for (const dir of (process.env.PATH ?? "/usr/bin:/bin").split(":")) {
    const candidate = path.join(dir, tool);
    if (dir && fs.existsSync(candidate)) {
      return candidate;
    }
  }
  throw new Error(`the script tests need ${tool} on PATH`);
}

let safeBin: string | undefined;
/** A directory of symlinks to SAFE_TOOLS, made once per test file (jest worker module scope). */
function safeBinDir(): string {
  if (!safeBin) {
    safeBin = fs.mkdtempSync(path.join(os.tmpdir(), "kubeadm-aws-bin-"));
    for (const tool of SAFE_TOOLS) {
      fs.symlinkSync(findOnPath(tool), path.join(safeBin, tool));
    }
    for (const entry of fs.readdirSync(DOUBLES_DIR)) {
      const file = path.join(DOUBLES_DIR, entry);
      if (fs.statSync(file).isFile() && !entry.includes(".")) {
        fs.chmodSync(file, 0o755); // in case a checkout lost the executable bit
      }
    }
  }
  return safeBin;
}

// Each test file gets its own copy of this module (jest's module registry), hence its own bin dir.
afterAll(() => {
  if (safeBin) {
    fs.rmSync(safeBin, { recursive: true, force: true });
    safeBin = undefined;
  }
});

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

export interface RunOptions {
  /** DOUBLE_* settings and other environment for this run. */
  readonly env?: Readonly<Record<string, string>>;
  /** Text written to the script's stdin (the secret bundle). */
  readonly stdin?: string;
  /** Doubles or real tools to leave off PATH, to test a node without them (e.g. no cloud-init). */
  readonly without?: readonly string[];
}

/** A real process that holds a sandbox file open, made by Sandbox.holdOpen. */
export interface Holder {
  readonly pid: number;
}

/** One sandboxed root filesystem with its own double state and call log. */
export class Sandbox {
  readonly dir: string;
  readonly root: string;
  readonly state: string;
  readonly logFile: string;
  private runs = 0;
  private readonly holders: ChildProcess[] = [];

  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "kubeadm-aws-test-"));
    this.root = path.join(this.dir, "root");
    this.state = path.join(this.dir, "state");
    this.logFile = path.join(this.dir, "calls.log");
    for (const sub of ["etc", "run", "var/lib", "root", "usr/local/bin"]) {
      fs.mkdirSync(path.join(this.root, sub), { recursive: true });
    }
    for (const sub of ["pkg", "systemd", "hold"]) {
      fs.mkdirSync(path.join(this.state, sub), { recursive: true });
    }
    fs.writeFileSync(this.logFile, "");
  }

  /** Absolute path of a sandbox path written as on the node, e.g. "/etc/hosts". */
  path(nodePath: string): string {
    return path.join(this.root, nodePath);
  }

  write(nodePath: string, content: string, mode = 0o644): void {
    const file = this.path(nodePath);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content, { mode });
    fs.chmodSync(file, mode);
  }

  read(nodePath: string): string {
    return fs.readFileSync(this.path(nodePath), "utf8");
  }

  exists(nodePath: string): boolean {
    return fs.existsSync(this.path(nodePath));
  }

  /** Permission bits, e.g. 0o600. */
  mode(nodePath: string): number {
    return fs.statSync(this.path(nodePath)).mode & 0o777;
  }

  /** Marks a package as installed for the dpkg-query double. */
  installPackage(name: string, version: string): void {
    fs.writeFileSync(path.join(this.state, "pkg", name), `${version}\n`);
  }

  /** Marks a unit enabled and active for the systemctl double. */
  startUnit(unit: string): void {
    fs.writeFileSync(path.join(this.state, "systemd", `enabled.${unit}`), "");
    fs.writeFileSync(path.join(this.state, "systemd", `active.${unit}`), "");
  }

  /**
   * Puts a kube-proxy pod on the node for the kubectl double: HOSTS is its copy of /etc/hosts
   * (undefined: none yet, its container has not started), PENDING how many lists show it Pending.
   */
  kubeProxyPod(uid: string, name: string, hosts: string | undefined, pending = 0): void {
    if (hosts !== undefined) {
      this.write(`/var/lib/kubelet/pods/${uid}/etc-hosts`, hosts);
    }
    fs.appendFileSync(path.join(this.state, "kube-proxy.pods"), `${uid} ${name} ${pending}\n`);
  }

  /** Every double call so far, one "name argv..." line each. */
  calls(): string[] {
    return fs.readFileSync(this.logFile, "utf8").split("\n").filter(Boolean);
  }

  clearCalls(): void {
    fs.writeFileSync(this.logFile, "");
  }

  /** Content files a double saved, e.g. the manifests kubectl applied. */
  stateFile(name: string): string {
    return fs.readFileSync(path.join(this.state, name), "utf8");
  }

  /** Path -> "mode:mtime:sha256" of every file in the sandbox root: equal snapshots = no change. */
  snapshot(): Map<string, string> {
    const result = new Map<string, string>();
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) {
          walk(file);
        } else if (entry.isFile()) {
          const stat = fs.statSync(file);
          const hash = crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
          result.set(path.relative(this.root, file), `${stat.mode}:${stat.mtimeMs}:${hash}`);
        }
      }
    };
    walk(this.root);
    return result;
  }

  /** Runs a rendered script in bash inside the sandbox. */
  run(script: string, options: RunOptions = {}): Promise<RunResult> {
    this.runs += 1;
    const file = path.join(this.dir, `script-${this.runs}.sh`);
    fs.writeFileSync(file, script, { mode: 0o700 });
    const env: Record<string, string> = {
      PATH: this.toolPath(options.without ?? []),
      HOME: path.join(this.root, "root"),
      LANG: "C",
      TMPDIR: this.dir,
      KUBEADM_AWS_ROOT: this.root,
      KUBEADM_AWS_POLL_SECONDS: "0.25",
      KUBEADM_AWS_RETRY_DELAY_SECONDS: "0",
      DOUBLE_LOG: this.logFile,
      DOUBLE_STATE: this.state,
      ...options.env,
    };
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const child = spawn(findOnPath("bash"), [file], { env, stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
      child.stdin.on("error", () => undefined); // a script may exit without reading stdin
      child.stdin.end(options.stdin ?? "");
    });
  }

  /**
   * Spawns a real process that opens the sandbox file `nodePath` (created if missing) and keeps it
   * open for `seconds`, as apt keeps a lock file open while it holds the file's fcntl lock. Just
   * before it closes the file it writes "holder released <nodePath>" to the call log, so the log
   * shows whether a double ran before or after the release. Resolves once the file is open; the
   * holder is killed by remove() if still there.
   */
  holdOpen(nodePath: string, seconds: number): Promise<Holder> {
    fs.mkdirSync(path.dirname(this.path(nodePath)), { recursive: true });
    const child = spawn(
      findOnPath("bash"),
      [
        "-c",
        'exec 9<>"$FILE" || exit 1; echo held; sleep "$SECONDS_HELD" 9>&-; echo "holder released $NODE_FILE" >>"$LOG"',
      ],
      {
        env: {
          PATH: safeBinDir(),
          FILE: this.path(nodePath),
          NODE_FILE: nodePath,
          SECONDS_HELD: String(seconds),
          LOG: this.logFile,
        },
        detached: true, // its own process group, so that remove() also ends its sleep
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    this.holders.push(child);
    return new Promise((resolve, reject) => {
      child.on("error", reject);
      child.on("exit", (code) => reject(new Error(`the holder of ${nodePath} exited (${code})`)));
      child.stdout?.once("data", () => resolve({ pid: child.pid ?? 0 }));
    });
  }

  /** The PATH of a run: the doubles, then the real SAFE_TOOLS, less the programs in WITHOUT. */
  private toolPath(without: readonly string[]): string {
    if (without.length === 0) {
      return `${DOUBLES_DIR}:${safeBinDir()}`;
    }
    const doubles = fs.readdirSync(DOUBLES_DIR);
    for (const name of without) {
      if (!doubles.includes(name) && !SAFE_TOOLS.includes(name)) {
        throw new Error(`without: ${name} is neither a double nor one of SAFE_TOOLS`);
      }
    }
    const linkDir = (name: string, from: string, entries: readonly string[]): string => {
      const dir = path.join(this.dir, `${name}-${this.runs}`);
      fs.mkdirSync(dir);
      for (const entry of entries.filter((e) => !without.includes(e))) {
        fs.symlinkSync(path.join(from, entry), path.join(dir, entry));
      }
      return dir;
    };
    // Copies made of symlinks; the doubles find _double.sh and their fixtures next to themselves.
    return `${linkDir("doubles", DOUBLES_DIR, doubles)}:${linkDir("bin", safeBinDir(), SAFE_TOOLS)}`;
  }

  remove(): void {
    for (const holder of this.holders) {
      if (holder.exitCode === null && holder.signalCode === null && holder.pid) {
        try {
          process.kill(-holder.pid, "SIGKILL");
        } catch {
          // it has just exited
        }
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A script made of the libraries (lib.sh, a package library, lib-kubeadm.sh) and a snippet, to
 * test them directly: apt's package library unless `packages` says dnf.
 */
export function libScript(
  snippet: string,
  step = "lib-test",
  packages: PackageManager = "apt",
): string {
  return [
    "#!/usr/bin/env bash",
    "set -Eeuo pipefail",
    `readonly STEP=${step}`,
    libraryText(packages),
    snippet,
  ].join("\n");
}

/** What two runs of the same step on one node did. */
export interface TwoRuns {
  readonly first: RunResult;
  readonly firstCalls: string[];
  readonly second: RunResult;
  readonly secondCalls: string[];
  /** Files the second run created, removed or touched (content, mode or mtime): should be none. */
  readonly changed: string[];
}

/** Runs a step twice on the same sandboxed node, recording what the second run changed. */
export async function runTwice(
  sb: Sandbox,
  script: string,
  options: RunOptions = {},
): Promise<TwoRuns> {
  const first = await sb.run(script, options);
  const firstCalls = sb.calls();
  const before = sb.snapshot();
  sb.clearCalls();
  const second = await sb.run(script, options);
  const after = sb.snapshot();
  const changed = [...new Set([...before.keys(), ...after.keys()])]
    .filter((file) => before.get(file) !== after.get(file))
    .sort();
  return { first, firstCalls, second, secondCalls: sb.calls(), changed };
}

/**
 * A sandboxed scenario shared by the tests of one describe block: it starts as soon as the test
 * file loads (so scenarios run in parallel with each other and with concurrent tests), beforeAll
 * waits for it, and the tests read its outcome through the returned getter.
 */
export function scenario<T>(play: (sb: Sandbox) => Promise<T>): () => T & { sb: Sandbox } {
  const sb = new Sandbox();
  let outcome: (T & { sb: Sandbox }) | undefined;
  const done = play(sb).then((value) => {
    outcome = { ...value, sb };
  });
  done.catch(() => undefined); // reported by beforeAll, not as an unhandled rejection
  beforeAll(() => done);
  afterAll(() => sb.remove());
  return () => {
    if (!outcome) {
      throw new Error("the scenario did not finish");
    }
    return outcome;
  };
}

/**
 * A test with its own sandbox, removed afterwards. The tests run concurrently (jest gives this
 * suite one worker on a 2-core machine, and the scripts spend their time waiting on forks), so a
 * test must not share anything but read-only inputs with another.
 */
export function sandboxTest(name: string, fn: (sb: Sandbox) => Promise<void>): void {
  test.concurrent(name, async () => {
    const sb = new Sandbox();
    try {
      await fn(sb);
    } finally {
      sb.remove();
    }
  });
}

/** True when a program is installed on the machine running the tests. */
export function hasProgram(name: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${name}`]).status === 0;
}

/** Lines of the call log that start with a double's name, e.g. calls(sb, "kubeadm"). */
export function callsOf(sandbox: Sandbox, double: string): string[] {
  return sandbox.calls().filter((line) => line === double || line.startsWith(`${double} `));
}
