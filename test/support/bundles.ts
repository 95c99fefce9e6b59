/** Reads a secret bundle (render/script.ts renderSecretBundle) back into its entries. */
export function bundleEntries(bundle: string): Record<string, string> {
  return Object.fromEntries(
    bundle
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [name, data] = line.split(" ");
        return [name!, Buffer.from(data ?? "", "base64").toString("utf8")];
      }),
  );
}
