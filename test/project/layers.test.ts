/**
 * The layers of DESIGN.md, checked on the source tree: a reader knows from the folder which
 * machine a line runs on and what it may depend on.
 *
 *   index.ts -> components/ (Pulumi) -> render/ (pure renderers) -> config/ (pure rules)
 *   guest/: the bash that runs on the machines, read by render/script.ts as text.
 *   cloud/: AWS SDK calls from the machine running Pulumi, run by a step of the destroy.
 */
import * as fs from "fs";
import * as path from "path";
import { LIBRARIES, STEPS } from "../../render/script";

const ROOT = path.join(__dirname, "..", "..");

function sourceFiles(dir: string, ext = ".ts"): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(path.join(ROOT, d), { withFileTypes: true })) {
      const rel = path.join(d, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith(ext)) out.push(rel);
    }
  };
  walk(dir);
  return out;
}

/** Every module specifier a TypeScript file imports or re-exports. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), "utf8");
  return [...text.matchAll(/(?:\bfrom|\bimport\(?|\brequire\()\s*["']([^"']+)["']/g)].map(
    (m) => m[1]!,
  );
}

/** The top-level folder an import resolves to, or the package name. */
function layerOf(file: string, spec: string): string {
  if (!spec.startsWith(".")) return spec.startsWith("@pulumi/") ? "@pulumi" : spec;
  return path.normalize(path.join(path.dirname(file), spec)).split(path.sep)[0]!;
}

describe.each([
  ["config", ["components", "render", "tools", "@pulumi"]],
  ["render", ["components", "tools", "@pulumi"]],
  ["components", ["tools", "test"]],
  // AWS calls from the machine running Pulumi (the destroy sweep): plain SDK code.
  ["cloud", ["components", "render", "tools", "@pulumi"]],
])("%s/", (folder, forbidden) => {
  test(`imports nothing from ${forbidden.join(", ")}`, () => {
    const offending = sourceFiles(folder).flatMap((file) =>
      importsOf(file)
        .filter((spec) => forbidden.includes(layerOf(file, spec)))
        .map((spec) => `${file} imports ${spec}`),
    );
    expect(offending).toEqual([]);
  });
});

test("components/ holds Pulumi code only: every file uses @pulumi/*", () => {
  // index.ts only re-exports; naming.ts holds the Pulumi type tokens and resource tags.
  const exempt = new Set(["components/index.ts", "components/naming.ts"]);
  const pure = sourceFiles("components").filter(
    (file) => !exempt.has(file) && !importsOf(file).some((spec) => spec.startsWith("@pulumi/")),
  );
  expect(pure).toEqual([]);
});

test("guest/ holds only the bash that runs on the machines: the libraries and one file per step", () => {
  const files = fs.readdirSync(path.join(ROOT, "guest")).sort();
  expect(files).toEqual([...LIBRARIES, ...STEPS.map((step) => `${step}.sh`)].sort());
});

test("no two source files share a name (index.ts, the entry-point convention, aside)", () => {
  const all = ["components", "config", "render", "cloud", "guest", "tools", "bench", "test"]
    .flatMap((dir) => [...sourceFiles(dir, ".ts"), ...sourceFiles(dir, ".sh")])
    .map((f) => path.basename(f))
    .filter((name) => name !== "index.ts");
  const seen = new Set<string>();
  const duplicates = all.filter((name) => seen.size === seen.add(name).size);
  expect(duplicates).toEqual([]);
});
