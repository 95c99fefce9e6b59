/**
 * The Pulumi CLI the deploy wrapper runs: the version of the @pulumi/pulumi SDK in node_modules,
 * installed once into .pulumi-cli/ at the repository root and reused from there. A CLI on PATH
 * is neither needed nor used, so the wrapper and the SDK always agree.
 */
import * as fs from "fs";
import * as path from "path";
import { SemVer } from "semver";
import type { PulumiCommand, PulumiCommandOptions } from "@pulumi/pulumi/automation";
import { version as SDK_VERSION } from "@pulumi/pulumi/package.json";
import { DeployError } from "./engineError";

export { SDK_VERSION };

/** The install folder, relative to the repository root (git-ignored). */
export const CLI_DIR = ".pulumi-cli";

/** PulumiCommand's two static methods, as the wrapper uses them (injected in tests). */
export interface CliInstaller {
  get(opts: PulumiCommandOptions): Promise<PulumiCommand>;
  install(opts: PulumiCommandOptions): Promise<PulumiCommand>;
}

/** The binary PulumiCommand.get runs for an installation root. */
export function cliBinary(cliRoot: string): string {
  return path.join(cliRoot, "bin", process.platform === "win32" ? "pulumi.exe" : "pulumi");
}

async function install(
  installer: CliInstaller,
  opts: PulumiCommandOptions,
  say: (line: string) => void,
  why: string,
): Promise<PulumiCommand> {
  say(`${why}: installing the Pulumi CLI ${opts.version} into ${opts.root} (one download)`);
  try {
    return await installer.install(opts);
  } catch (err) {
    throw new DeployError(
      `could not install the Pulumi CLI ${opts.version} into ${opts.root}: ` +
        `${err instanceof Error ? err.message : String(err)}\n` +
        "It downloads from get.pulumi.com; check the connection, or install the CLI yourself " +
        "and run pulumi up (see README.md).",
    );
  }
}

/**
 * The CLI in `<root>/.pulumi-cli`: installed when its binary is missing or older than the SDK
 * (PulumiCommand.get checks the version), reused otherwise. Says which one in one line.
 */
export async function projectCli(
  root: string,
  installer: CliInstaller,
  say: (line: string) => void,
  sdkVersion: string = SDK_VERSION,
): Promise<PulumiCommand> {
  const opts: PulumiCommandOptions = {
    root: path.join(root, CLI_DIR),
    version: new SemVer(sdkVersion),
  };
  let cli: PulumiCommand;
  if (!fs.existsSync(cliBinary(opts.root!))) {
    cli = await install(installer, opts, say, `first use`);
  } else {
    try {
      cli = await installer.get(opts);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      cli = await install(installer, opts, say, `the CLI in ${CLI_DIR} cannot be used (${reason})`);
    }
  }
  say(`Pulumi CLI ${cli.version ?? sdkVersion} (project-local): ${cli.command}`);
  return cli;
}
