/** Small helpers that turn a config mistake into what to type instead. */
import { distance } from "fastest-levenshtein";
import { quote } from "shell-quote";

/**
 * The known key a misspelt one most likely meant: the nearest by edit distance, if it is near
 * enough (a third of the key's length, at least 2), or one that the key starts with or contains
 * (`workerCount` -> `workers`).
 */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const ranked = [...known]
    .map((k) => ({ k, d: distance(key.toLowerCase(), k.toLowerCase()) }))
    .sort((a, b) => a.d - b.d || a.k.localeCompare(b.k));
  const best = ranked[0];
  if (best && best.d <= Math.max(2, Math.floor(key.length / 3))) return best.k;
  const stem = known.find((k) => {
    const root = k.toLowerCase().replace(/s$/, "");
    return root.length >= 4 && lower.includes(root);
  });
  return stem;
}

/** A value as it would be typed in a shell: bare when safe, quoted by shell-quote otherwise. */
export function quoteForShell(value: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(value) ? value : quote([value]);
}
