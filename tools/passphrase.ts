/**
 * The passphrase of a stack's secrets (the passphrase secrets provider): from
 * PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE, else asked on the terminal, else a
 * refusal. It reaches the CLI through the workspace's envVars only; it is never printed.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { DeployError } from "./engineError";
import type { Terminal } from "./terminal";

export type Env = Record<string, string | undefined>;

/** Where the passphrase comes from; decided before anything is downloaded or asked. */
export type PassphraseSource =
  | { kind: "none" }
  | { kind: "env"; value: string }
  | { kind: "file"; file: string }
  | { kind: "prompt" };

const ATTEMPTS = 3;

/**
 * A stack needs a passphrase unless its stack file names another secrets provider (awskms://,
 * ...) or, without a salt of its own, it lives in Pulumi Cloud (which keeps the key itself).
 */
export function needsPassphrase(stackFile: string, backendUrl: string | undefined): boolean {
  let settings: { secretsprovider?: unknown; encryptionsalt?: unknown } = {};
  if (fs.existsSync(stackFile)) settings = parse(fs.readFileSync(stackFile, "utf8")) ?? {};
  const provider = settings.secretsprovider;
  if (typeof provider === "string" && provider !== "" && provider !== "passphrase") return false;
  if (settings.encryptionsalt !== undefined) return true;
  const cloud = backendUrl === undefined || /^https?:\/\//.test(backendUrl);
  return !cloud;
}

/**
 * The environment wins, then the terminal; without either, a refusal that says what to set.
 * A passphrase file named relative to the current directory is made absolute (the CLI runs in
 * the project folder).
 */
export function passphraseSource(
  env: Env,
  interactive: boolean,
  needed: boolean,
  cwd: string,
  stack: string,
): PassphraseSource {
  if (!needed) return { kind: "none" };
  const value = env.PULUMI_CONFIG_PASSPHRASE;
  if (value !== undefined) return { kind: "env", value };
  const file = env.PULUMI_CONFIG_PASSPHRASE_FILE;
  if (file !== undefined && file !== "") {
    const absolute = path.resolve(cwd, file);
    try {
      fs.accessSync(absolute, fs.constants.R_OK);
    } catch (err) {
      throw new DeployError(
        `PULUMI_CONFIG_PASSPHRASE_FILE=${file} cannot be read (${(err as NodeJS.ErrnoException).code})`,
      );
    }
    return { kind: "file", file: absolute };
  }
  if (interactive) return { kind: "prompt" };
  throw new DeployError(
    `stack ${stack} needs the passphrase of its secrets and stdin is not a terminal to ask ` +
      "for it: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE, a file holding it)",
  );
}

/** What the prompt says about the passphrase before asking. */
export function passphraseNotice(stack: string, isNew: boolean, localState: boolean): string {
  const where = localState ? "in the local state" : "in the state";
  const what = `It encrypts the stack's secrets ${where} and cannot be recovered`;
  return isNew
    ? `Stack ${stack} is new: choose a passphrase. ${what}: keep it safe, every later run ` +
        "needs it. (Set PULUMI_CONFIG_PASSPHRASE to skip this prompt.)"
    : `Stack ${stack}: its passphrase. ${what}. (Set PULUMI_CONFIG_PASSPHRASE to skip this prompt.)`;
}

/** Asks once for an existing stack; twice for a new one, again until both agree (3 tries). */
async function promptPassphrase(context: PassphraseContext): Promise<string> {
  const { terminal, say, isNew, stack } = context;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const first = await terminal.readHidden(`Passphrase for stack ${stack}: `);
    if (first === "") {
      say("An empty passphrase would leave the secrets unprotected: type one.");
      continue;
    }
    if (!isNew) return first;
    const second = await terminal.readHidden(`Passphrase for stack ${stack}, again: `);
    if (first === second) return first;
    say("The two passphrases differ: try again.");
  }
  throw new DeployError(`no passphrase after ${ATTEMPTS} tries: stopped, nothing was done`);
}

export interface PassphraseContext {
  stack: string;
  isNew: boolean;
  localState: boolean;
  terminal: Terminal;
  /** A line for the user (stderr, beside the prompt). */
  say(line: string): void;
}

/** The environment variables that hand the passphrase to the CLI. */
export async function passphraseEnv(
  source: PassphraseSource,
  context: PassphraseContext,
): Promise<Record<string, string>> {
  switch (source.kind) {
    case "none":
      return {};
    case "env":
      context.say("passphrase: from PULUMI_CONFIG_PASSPHRASE");
      return { PULUMI_CONFIG_PASSPHRASE: source.value };
    case "file":
      context.say(`passphrase: from PULUMI_CONFIG_PASSPHRASE_FILE (${source.file})`);
      return { PULUMI_CONFIG_PASSPHRASE_FILE: source.file };
    case "prompt":
      context.say(passphraseNotice(context.stack, context.isNew, context.localState));
      return {
        PULUMI_CONFIG_PASSPHRASE: await promptPassphrase(context),
      };
  }
}
