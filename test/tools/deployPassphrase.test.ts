/**
 * The passphrase rules: the environment first (value, then file), then the terminal (twice for
 * a new stack, once for an existing one), else a refusal. The value is never printed.
 */
import * as fs from "fs";
import * as path from "path";
import {
  needsPassphrase,
  passphraseEnv,
  passphraseNotice,
  passphraseSource,
  type PassphraseContext,
} from "../../tools/passphrase";
import { DeployError } from "../../tools/engineError";
import { fakeTerminal, tempProject } from "./deployFakes";

let root: string;
beforeEach(() => (root = tempProject(["dev"])));
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const SECRET = "correct horse battery staple";

describe("where it comes from", () => {
  test("PULUMI_CONFIG_PASSPHRASE wins, even over a file and a terminal", () => {
    const env = { PULUMI_CONFIG_PASSPHRASE: SECRET, PULUMI_CONFIG_PASSPHRASE_FILE: "/nope" };
    expect(passphraseSource(env, true, true, root, "dev")).toEqual({ kind: "env", value: SECRET });
  });

  test("an empty PULUMI_CONFIG_PASSPHRASE is a choice too (as for the CLI)", () => {
    expect(passphraseSource({ PULUMI_CONFIG_PASSPHRASE: "" }, true, true, root, "dev")).toEqual({
      kind: "env",
      value: "",
    });
  });

  test("PULUMI_CONFIG_PASSPHRASE_FILE, relative to the current directory, made absolute", () => {
    fs.writeFileSync(path.join(root, "pass.txt"), SECRET);
    const env = { PULUMI_CONFIG_PASSPHRASE_FILE: "pass.txt" };
    expect(passphraseSource(env, false, true, root, "dev")).toEqual({
      kind: "file",
      file: path.join(root, "pass.txt"),
    });
  });

  test("a passphrase file that cannot be read is refused before anything runs", () => {
    const env = { PULUMI_CONFIG_PASSPHRASE_FILE: "missing.txt" };
    expect(() => passphraseSource(env, true, true, root, "dev")).toThrow(
      /PULUMI_CONFIG_PASSPHRASE_FILE=missing.txt cannot be read \(ENOENT\)/,
    );
  });

  test("with neither, a terminal is asked", () => {
    expect(passphraseSource({}, true, true, root, "dev")).toEqual({ kind: "prompt" });
  });

  test("with neither and no terminal, a refusal that says to set PULUMI_CONFIG_PASSPHRASE", () => {
    const refuse = () => passphraseSource({}, false, true, root, "dev");
    expect(refuse).toThrow(DeployError);
    expect(refuse).toThrow(/stack dev needs the passphrase.*stdin is not a terminal/);
    expect(refuse).toThrow(/set PULUMI_CONFIG_PASSPHRASE/);
  });

  test("a stack that needs none asks nothing, even without a terminal", () => {
    expect(passphraseSource({}, false, false, root, "dev")).toEqual({ kind: "none" });
  });
});

describe("which stacks need one", () => {
  const file = () => path.join(root, "Pulumi.dev.yaml");

  test("the passphrase provider on the file backend (this project's default)", () => {
    expect(needsPassphrase(file(), "file://~")).toBe(true);
    expect(needsPassphrase(file(), "s3://bucket/state")).toBe(true);
  });

  test("not with another secrets provider in the stack file", () => {
    fs.writeFileSync(file(), "secretsprovider: awskms://alias/state\nconfig: {}\n");
    expect(needsPassphrase(file(), "s3://bucket/state")).toBe(false);
  });

  test("Pulumi Cloud keeps the key, unless the stack file has a passphrase salt", () => {
    expect(needsPassphrase(file(), "https://api.pulumi.com")).toBe(false);
    fs.writeFileSync(file(), "encryptionsalt: v1:abc\nconfig: {}\n");
    expect(needsPassphrase(file(), "https://api.pulumi.com")).toBe(true);
  });
});

describe("the prompt", () => {
  function context(answers: string[], isNew: boolean) {
    const terminal = fakeTerminal(answers);
    const said: string[] = [];
    const ctx: PassphraseContext = {
      stack: "dev",
      isNew,
      localState: true,
      terminal,
      say: (l) => said.push(l),
    };
    return { ctx, terminal, said };
  }

  test("says the passphrase encrypts the secrets in the local state and cannot be recovered", () => {
    for (const isNew of [true, false]) {
      const notice = passphraseNotice("dev", isNew, true);
      expect(notice).toContain("encrypts the stack's secrets in the local state");
      expect(notice).toContain("cannot be recovered");
      expect(notice).toContain("PULUMI_CONFIG_PASSPHRASE");
    }
  });

  test("an existing stack: asked once, handed over as PULUMI_CONFIG_PASSPHRASE", async () => {
    const { ctx, terminal, said } = context([SECRET], false);
    expect(await passphraseEnv({ kind: "prompt" }, ctx)).toEqual({
      PULUMI_CONFIG_PASSPHRASE: SECRET,
    });
    expect(terminal.prompts).toHaveLength(1);
    expect(said.join("\n")).not.toContain(SECRET);
  });

  test("a new stack: asked twice", async () => {
    const { ctx, terminal } = context([SECRET, SECRET], true);
    expect(await passphraseEnv({ kind: "prompt" }, ctx)).toEqual({
      PULUMI_CONFIG_PASSPHRASE: SECRET,
    });
    expect(terminal.prompts).toEqual([
      "Passphrase for stack dev: ",
      "Passphrase for stack dev, again: ",
    ]);
  });

  test("a new stack: two different answers are asked again", async () => {
    const { ctx, terminal, said } = context(["first-try-1", "first-try-2", SECRET, SECRET], true);
    expect(await passphraseEnv({ kind: "prompt" }, ctx)).toEqual({
      PULUMI_CONFIG_PASSPHRASE: SECRET,
    });
    expect(terminal.prompts).toHaveLength(4);
    expect(said).toContain("The two passphrases differ: try again.");
    expect(said.join("\n")).not.toMatch(/first-try|horse/);
  });

  test("an empty answer is asked again; three failures stop the run", async () => {
    const { ctx } = context(["", "a", "b", "c", "d"], true);
    await expect(passphraseEnv({ kind: "prompt" }, ctx)).rejects.toThrow(
      /no passphrase after 3 tries/,
    );
  });

  test("from the environment: no prompt, the value handed over as is, not printed", async () => {
    const { ctx, terminal, said } = context([], false);
    expect(await passphraseEnv({ kind: "env", value: SECRET }, ctx)).toEqual({
      PULUMI_CONFIG_PASSPHRASE: SECRET,
    });
    expect(await passphraseEnv({ kind: "file", file: "/p" }, ctx)).toEqual({
      PULUMI_CONFIG_PASSPHRASE_FILE: "/p",
    });
    expect(terminal.prompts).toEqual([]);
    expect(said.join("\n")).not.toContain(SECRET);
  });
});
