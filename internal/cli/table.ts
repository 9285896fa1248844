/**
 * Renders rows under upper-case headers in columns separated by two spaces, padded to
 * the widest cell; no trailing spaces. Cells are single-line (newlines become spaces).
 * Returns the text with a final newline, or "" when there are no rows and `empty` is unset.
 */
export function renderTable(headers: string[], rows: string[][], empty?: string): string {
  if (rows.length === 0) return empty === undefined ? '' : `${empty}\n`;
  const cells = [headers, ...rows].map((r) => r.map((c) => c.replace(/\s*\n\s*/g, ' ')));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number))).join('  ').trimEnd()).join('\n') + '\n';
}

/**
 * Renders `label: value` pairs with the values aligned; pairs whose value is empty or
 * undefined are left out.
 */
export function renderFields(pairs: Array<[string, string | undefined]>): string {
  const shown = pairs.filter((p): p is [string, string] => p[1] !== undefined && p[1] !== '');
  const width = Math.max(0, ...shown.map(([k]) => k.length + 1));
  return shown.map(([k, v]) => `${`${k}:`.padEnd(width)}  ${v}`).join('\n') + (shown.length > 0 ? '\n' : '');
}

/** Cuts `s` to `max` characters, ending in "…" when cut. */
export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(0, max - 1))}…`;
}
