/**
 * The kubeconfig file `npm run outputs` writes: mode 0600 exactly, marked as ours on its first
 * line, and never written over a file that is not (a ~/.kube/config, a symlink, a folder).
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { DeployError } from "./engineError";

/** The first line of every file this tool writes; a file without it is never overwritten. */
export const KUBECONFIG_MARKER = "# kubeadm-aws: written by `npm run outputs`";

export const kubeconfigText = (stack: string, kubeconfig: string): string =>
  `${KUBECONFIG_MARKER} for stack ${stack}; rewritten on each run.\n` +
  (kubeconfig.endsWith("\n") ? kubeconfig : `${kubeconfig}\n`);

function firstLine(file: string): string {
  const fd = fs.openSync(file, "r");
  try {
    const buffer = Buffer.alloc(KUBECONFIG_MARKER.length);
    const read = fs.readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.subarray(0, read).toString("utf8");
  } finally {
    fs.closeSync(fd);
  }
}

/** Throws unless `file` is missing or a regular file this tool wrote. */
function checkReplaceable(file: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  const notOurs = !stat.isFile() || firstLine(file) !== KUBECONFIG_MARKER;
  if (notOurs) {
    const what = stat.isSymbolicLink() ? "is a symbolic link" : "was not written by this tool";
    throw new DeployError(
      `${file} ${what}: not overwriting it. Choose another file with --kubeconfig FILE, ` +
        "or move it away.",
    );
  }
}

/**
 * Writes the kubeconfig to a new file created 0600 beside the target (so the umask cannot widen
 * it and no reader sees it half written), then renames it over the target.
 */
export function writeKubeconfig(file: string, stack: string, kubeconfig: string): void {
  checkReplaceable(file);
  const temp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${crypto.randomBytes(4).toString("hex")}.tmp`,
  );
  const fd = fs.openSync(temp, "wx", 0o600);
  try {
    try {
      fs.fchmodSync(fd, 0o600);
      fs.writeFileSync(fd, kubeconfigText(stack, kubeconfig));
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw err;
  }
}
