/**
 * The project's stack files (`Pulumi.<stack>.yaml`), read the way `pulumi up` hands them to the
 * program. Shared by the deploy wrapper, the render tool and the CI stack check.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

/** The stacks with a `Pulumi.<stack>.yaml` in the project folder, sorted. */
export function stackNames(projectDir: string): string[] {
  return fs
    .readdirSync(projectDir)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

/**
 * The configuration `pulumi up` would hand the program for a stack: every `namespace:key` of
 * `Pulumi.<stack>.yaml` as text, structured values as JSON. Encrypted (`secure:`) values cannot
 * be read without the stack's passphrase and are left out.
 */
export function stackConfigMap(projectDir: string, stack: string): Record<string, string> {
  const file = path.join(projectDir, `Pulumi.${stack}.yaml`);
  const doc = (parse(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(doc.config ?? {})) {
    if (value && typeof value === "object" && "secure" in value) continue;
    values[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return values;
}
