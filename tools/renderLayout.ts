/**
 * How a render lies on disk, so that it reads well and two renders diff cleanly:
 *
 *   00-summary.md            nodes, steps in bootstrap order, versions, warnings (sorts first)
 *   lib/lib.sh ...           the shared libraries, once, as every step runs them
 *   <node>/<step>.sh         a step: review notes, its parameters, a marker line where the
 *                            libraries run, its own body
 *   <node>/<step>.delete.sh  what runs when the step's resource is deleted
 *   <node>/<step>.stdin      the names of its stdin secrets (values `<secret>`)
 *   <node>/kubeadm-*.yaml    its kubeadm configuration; cluster/ holds the cluster-wide steps
 *
 * A step file plus lib/ is exactly what runs on the node: `reassembleStep` puts the libraries
 * back in place of the marker and drops the notes (the tests check this against the program's
 * own command text, and lint the result).
 */
import * as fs from "fs";
import * as path from "path";
import { LIBRARIES, librariesFor, libraryText, readScriptFile } from "../render/script";

export const SUMMARY_FILE = "00-summary.md";
/** The summary's first line starts with this: how a folder is recognised as a render. */
export const SUMMARY_TITLE = "# Rendered plan";
export const LIB_DIR = "lib";

const NOTES_BEGIN = "# ==== npm run render: review notes ====";
const NOTES_END = "# ==== what runs on the node follows; the libraries are in lib/ ====";

/** The line that stands where the libraries run, in a step file one folder below the root. */
export function librariesLine(files: readonly string[]): string {
  return (
    `# ---- the shared libraries run here, in this order: ` +
    `${files.map((f) => `../${LIB_DIR}/${f}`).join(" ")} ----`
  );
}

/** The library sets a step may run with: none, or apt's or dnf's package library. */
const LIBRARY_SETS = [undefined, "apt", "dnf"] as const;

/**
 * Every library (render/script.ts LIBRARIES), one file each, as steps run them (each guest file
 * without its shebang). Throws if a step's libraries are no longer these files joined by
 * newlines, rather than writing files that do not add up to what runs.
 */
export function libraryFiles(): { file: string; text: string }[] {
  const files = LIBRARIES.map((file) => ({
    file,
    text: readScriptFile(file).replace(/^#!.*\n/, ""),
  }));
  const byName = new Map<string, string>(files.map((f) => [f.file, f.text]));
  for (const pm of LIBRARY_SETS) {
    const joined = librariesFor(pm)
      .map((f) => byName.get(f))
      .join("\n");
    if (joined !== libraryText(pm)) {
      throw new Error(
        "render/script.ts no longer joins the libraries as lib/ holds them; update tools/renderLayout.ts",
      );
    }
  }
  return files;
}

/**
 * The file written for one rendered step: the script with `notes` (comment lines without the
 * `# `) after its shebang and the marker line, naming its libraries, in their place. Throws if
 * the script does not hold one library set exactly once, as every rendered step does.
 */
export function stepFileText(script: string, notes: readonly string[]): string {
  const found = LIBRARY_SETS.map((pm) => ({ pm, libs: `\n${libraryText(pm)}\n` })).filter(
    ({ libs }) => {
      const at = script.indexOf(libs);
      return at >= 0 && script.indexOf(libs, at + 1) < 0;
    },
  );
  if (found.length !== 1) {
    throw new Error("a rendered step does not hold the shared libraries exactly once");
  }
  const { pm, libs } = found[0]!;
  const at = script.indexOf(libs);
  const body =
    script.slice(0, at) + `\n${librariesLine(librariesFor(pm))}\n` + script.slice(at + libs.length);
  const block = [NOTES_BEGIN, ...notes.map((n) => `# ${n}`.trimEnd()), NOTES_END].join("\n");
  const shebang = /^#!.*\n/.exec(body)?.[0] ?? "";
  return `${shebang}${block}\n${body.slice(shebang.length)}`;
}

const MARKER = /\n# ---- the shared libraries run here, in this order: (.*) ----\n/;

/**
 * The script a step file stands for: the notes dropped, the libraries its marker line names
 * (`library(file)` gives a lib/ file's text) back in place.
 */
export function reassembleStep(fileText: string, library: (file: string) => string): string {
  const begin = fileText.indexOf(`${NOTES_BEGIN}\n`);
  const end = fileText.indexOf(`${NOTES_END}\n`);
  if (begin < 0 || end < begin) throw new Error("not a rendered step file: no review notes");
  const script = fileText.slice(0, begin) + fileText.slice(end + NOTES_END.length + 1);
  const m = MARKER.exec(script);
  if (!m) throw new Error("not a rendered step file: no libraries line");
  const files = m[1]!.split(" ").map((f) => path.basename(f));
  return script.replace(m[0], () => `\n${files.map(library).join("\n")}\n`);
}

/**
 * A folder the render may empty: one holding a summary this tool wrote, or one in the layout
 * of the earlier renders (a `cluster/` folder, and only folders of scripts, stdin names and
 * YAML), so that switching to this layout needs no manual clean-up.
 */
function looksLikeRender(outDir: string, entries: string[]): boolean {
  const summary = path.join(outDir, SUMMARY_FILE);
  if (fs.existsSync(summary) && fs.statSync(summary).isFile()) {
    return fs.readFileSync(summary, "utf8").startsWith(SUMMARY_TITLE);
  }
  return (
    entries.includes("cluster") &&
    entries.every((entry) => {
      const dir = path.join(outDir, entry);
      return (
        fs.lstatSync(dir).isDirectory() &&
        fs.readdirSync(dir, { withFileTypes: true }).every((f) => {
          return f.isFile() && /\.(sh|stdin|yaml)$/.test(f.name);
        })
      );
    })
  );
}

/**
 * Empties the output folder of a previous render, so no file of a node or step that is gone
 * stays behind; creates it when missing. Refuses a folder that holds anything else.
 */
export function clearPreviousRender(outDir: string): void {
  if (!fs.existsSync(outDir)) {
    fs.mkdirSync(outDir, { recursive: true });
    return;
  }
  if (!fs.lstatSync(outDir).isDirectory()) {
    throw new Error(`the output ${outDir} is not a folder; pick another with --out DIR`);
  }
  const entries = fs.readdirSync(outDir).sort();
  if (entries.length === 0) return;
  if (!looksLikeRender(outDir, entries)) {
    throw new Error(
      `refusing to empty ${outDir}: it is not empty and holds no ${SUMMARY_FILE} of an earlier ` +
        `render (it has ${entries.slice(0, 5).join(", ")}${entries.length > 5 ? ", ..." : ""}); ` +
        `pick an empty or new folder with --out DIR, or remove this one yourself`,
    );
  }
  for (const entry of entries)
    fs.rmSync(path.join(outDir, entry), { recursive: true, force: true });
}
