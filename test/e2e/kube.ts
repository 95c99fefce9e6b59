/**
 * Helpers of the end-to-end test: find tools on PATH, run kubectl with a bounded time, poll
 * until a condition holds. Nothing here talks to Pulumi or AWS.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";

/** True when an executable of this name is on PATH (what `command -v` answers). */
export function onPath(command: string, envPath = process.env.PATH ?? ""): boolean {
  return envPath
    .split(path.delimiter)
    .filter((dir) => dir !== "")
    .some((dir) => {
      try {
        fs.accessSync(path.join(dir, command), fs.constants.X_OK);
        return fs.statSync(path.join(dir, command)).isFile();
      } catch {
        return false;
      }
    });
}

export interface RunOptions {
  /** Killed (SIGKILL) after this long. */
  readonly timeoutMs?: number;
  /** Written to stdin, e.g. a manifest for `kubectl apply -f -`. */
  readonly input?: string;
}

export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = "CommandError";
  }
}

/** Runs a command, resolves with its stdout; rejects with stderr on failure or timeout. */
export function run(
  command: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<string> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const shown = [command, ...args].join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new CommandError(`${shown}: ${err.message}`, null, stdout, stderr));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(
          new CommandError(`${shown}: no result in ${timeoutMs / 1000}s`, code, stdout, stderr),
        );
      } else if (code !== 0) {
        reject(new CommandError(`${shown}: exit ${code}: ${stderr.trim()}`, code, stdout, stderr));
      } else {
        resolve(stdout);
      }
    });
    if (child.stdin) {
      // A command that exits without reading its input is reported by its exit code, not EPIPE.
      child.stdin.on("error", () => undefined);
      child.stdin.end(opts.input);
    }
  });
}

export interface KubectlRunOptions extends RunOptions {
  /**
   * For commands that wait server-side (`wait`, `delete --wait`): no `--request-timeout`, which
   * would cut their watch short; the hard time limit still applies.
   */
  readonly longRunning?: boolean;
}

/** kubectl bound to one kubeconfig; every call has a request timeout and a hard time limit. */
export class Kubectl {
  constructor(
    readonly kubeconfigPath: string,
    private readonly defaultTimeoutMs = 120_000,
  ) {}

  run(args: readonly string[], opts: KubectlRunOptions = {}): Promise<string> {
    const { longRunning, ...runOpts } = opts;
    return run(
      "kubectl",
      [
        "--kubeconfig",
        this.kubeconfigPath,
        ...(longRunning ? [] : ["--request-timeout=30s"]),
        ...args,
      ],
      { timeoutMs: this.defaultTimeoutMs, ...runOpts },
    );
  }

  async json<T>(args: readonly string[], opts: RunOptions = {}): Promise<T> {
    return JSON.parse(await this.run([...args, "-o", "json"], opts)) as T;
  }

  /** One field of one object, e.g. `field(["pod", "web", "-n", "ns"], "{.status.podIP}")`. */
  async field(object: readonly string[], jsonpath: string): Promise<string> {
    return (await this.run(["get", ...object, "-o", `jsonpath=${jsonpath}`])).trim();
  }

  /** Runs a command in a pod's (first) container. */
  exec(namespace: string, pod: string, command: readonly string[]): Promise<string> {
    return this.run(["exec", "-n", namespace, pod, "--", ...command]);
  }

  /** `kubectl apply -f -` of objects given as data (serialised here, never as YAML text). */
  apply(objects: readonly object[]): Promise<string> {
    return this.run(["apply", "-f", "-"], {
      input: JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }),
    });
  }

  async nodes(selector?: string): Promise<NodeState[]> {
    const list = await this.json<{ items: NodeJson[] }>([
      "get",
      "nodes",
      ...(selector ? ["-l", selector] : []),
    ]);
    return list.items.map((n) => ({
      name: n.metadata.name,
      ready: n.status.conditions.some((c) => c.type === "Ready" && c.status === "True"),
      controlPlane: "node-role.kubernetes.io/control-plane" in (n.metadata.labels ?? {}),
    }));
  }
}

export interface NodeState {
  readonly name: string;
  readonly ready: boolean;
  readonly controlPlane: boolean;
}

interface NodeJson {
  metadata: { name: string; labels?: Record<string, string> };
  status: { conditions: { type: string; status: string }[] };
}

export interface WaitOptions {
  readonly timeoutMs: number;
  readonly intervalMs?: number;
}

/**
 * Polls `probe` until it returns a value other than undefined/false. A probe that throws counts
 * as "not yet"; on timeout the error names what was awaited and the last failure or value seen.
 */
export async function waitUntil<T>(
  description: string,
  probe: () => Promise<T | undefined | false>,
  { timeoutMs, intervalMs = 5_000 }: WaitOptions,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = "no attempt finished";
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      last = `not yet (${JSON.stringify(value)})`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() + intervalMs > deadline) {
      throw new Error(
        `timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${description}; last: ${last}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Waits until exactly `count` nodes are registered and every one is Ready. */
export function waitForReadyNodes(
  kubectl: Kubectl,
  count: number,
  timeoutMs = 10 * 60_000,
): Promise<NodeState[]> {
  return waitUntil(
    `${count} Ready nodes`,
    async () => {
      const seen = await kubectl.nodes();
      const ready = seen.filter((n) => n.ready).length;
      if (seen.length === count && ready === count) return seen;
      throw new Error(
        `${seen.length} nodes, ${ready} Ready: ${seen.map((n) => `${n.name}${n.ready ? "" : " (NotReady)"}`).join(", ")}`,
      );
    },
    { timeoutMs },
  );
}
