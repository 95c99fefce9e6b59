/**
 * Failures of the deploy wrapper as the user reads them: the engine's own message (its
 * diagnostics, with the program's errors, and the CLI's stderr), never a stack trace.
 */

/** A failure whose message is meant for the user as it is: exit code 1. */
export class DeployError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DeployError";
  }
}

/** What the Automation API's CommandError keeps of the CLI run. */
interface CommandResultLike {
  stdout?: string;
  stderr?: string;
}

function commandResultOf(err: unknown): CommandResultLike | undefined {
  if (typeof err !== "object" || err === null || !("commandResult" in err)) return undefined;
  const result = (err as { commandResult: unknown }).commandResult;
  return typeof result === "object" && result !== null ? (result as CommandResultLike) : undefined;
}

/** A line of a JavaScript stack trace, as the language host prints it under an error. */
const STACK_FRAME = /^\s+at\s/;

/**
 * The "Diagnostics:" section of the CLI's output, up to the next section ("Outputs:",
 * "Resources:", ...), without the stack frames of the program's exception.
 */
export function diagnosticsOf(lines: readonly string[]): string[] {
  const start = lines.findIndex((line) => /^\s*Diagnostics:\s*$/.test(line));
  if (start < 0) return [];
  const out: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() !== "" && !/^\s/.test(line)) break;
    if (!STACK_FRAME.test(line)) out.push(line);
  }
  while (out.length > 0 && out[out.length - 1]!.trim() === "") out.pop();
  return out;
}

const HINTS: [RegExp, string][] = [
  [
    /incorrect passphrase/i,
    "The passphrase is not the one this stack was created with (PULUMI_CONFIG_PASSPHRASE or the prompt).",
  ],
  [
    /currently locked by|Another update is currently in progress/,
    "Another update of this stack is running (or one was killed): wait for it, or follow the message above.",
  ],
];

/** Without a Diagnostics section, the end of what the CLI printed. */
const TAIL_LINES = 30;

/**
 * The engine's message for a failed CLI command; the plain message for any other error. A
 * command that exits non-zero comes back with its stdout and stderr inside execa's message
 * (the stderr of the CommandResult), one that fails otherwise with them apart: both are read.
 * Kept: the diagnostics and the CLI's own `error:` lines; else the last lines; never frames.
 */
export function engineMessage(err: unknown): string {
  const result = commandResultOf(err);
  if (!result) return err instanceof Error ? err.message : String(err);
  const lines = `${result.stdout ?? ""}\n${result.stderr ?? ""}`
    .split(/\r?\n/)
    .filter((line) => !/^Command failed with exit code/.test(line));
  const diagnostics = diagnosticsOf(lines);
  const body =
    diagnostics.length > 0
      ? [...diagnostics, ...new Set(lines.filter((line) => /^error: /.test(line)))]
      : lines.filter((line) => line.trim() !== "" && !STACK_FRAME.test(line)).slice(-TAIL_LINES);
  if (body.length === 0) return "the Pulumi CLI failed without a message";
  const text = body.join("\n");
  const hints = HINTS.filter(([pattern]) => pattern.test(text)).map(([, hint]) => hint);
  return [text, ...hints].join("\n");
}

/** The message printed for a failure, by kind: ours as is, the engine's, anything else's. */
export function failureMessage(err: unknown, what: string): string {
  if (err instanceof DeployError) return err.message;
  return `${what} failed:\n${engineMessage(err)}`;
}
