/**
 * Renders rows as a plain-text table: the first column left-aligned, the others
 * right-aligned, a dashed rule under the header, two spaces between columns.
 */
export function renderTable(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]): string =>
    widths.map((w, c) => (c === 0 ? (r[c] ?? '').padEnd(w) : (r[c] ?? '').padStart(w))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Milliseconds with a precision that suits their size ("0.84", "12.3", "1532"); "-" for NaN. */
export function fmtMs(ms: number): string {
  if (Number.isNaN(ms)) return '-';
  if (Math.abs(ms) < 10) return ms.toFixed(2);
  if (Math.abs(ms) < 100) return ms.toFixed(1);
  return ms.toFixed(0);
}

/** A rate or count as a whole number with thousands separators ("12,345"); "-" for NaN. */
export function fmtInt(n: number): string {
  return Number.isNaN(n) ? '-' : Math.round(n).toLocaleString('en-US');
}

/** Seconds from milliseconds, two decimals ("3.21 s"). */
export function fmtSec(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** Bytes in MiB with one decimal ("123.4 MiB"); "-" when unknown or zero. */
export function fmtMiB(bytes: number | undefined): string {
  return bytes === undefined || bytes === 0 ? '-' : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
