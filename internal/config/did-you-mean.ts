/**
 * The candidate closest to `word` by edit distance (case-insensitive), if it is close
 * enough to be the intended one: at most a third of the longer name's length in edits,
 * and at least one. Undefined when nothing is that close.
 */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const d = editDistance(w, name.toLowerCase());
    if (d <= Math.max(1, Math.floor(Math.max(w.length, name.length) / 3)) && (!best || d < best.distance)) best = { name, distance: d };
  }
  return best?.name;
}

/** Levenshtein distance: insertions, deletions and substitutions. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitute = (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, substitute));
    }
    prev = row;
  }
  return prev[b.length] as number;
}
