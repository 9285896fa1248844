import { usageError } from './cli-error.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

/**
 * Parses a duration such as `500ms`, `30s`, `1.5m`, `1h30m` or `7d` into milliseconds
 * (rounded). A unit is required. Throws a usage error naming `flag`.
 */
export function parseDuration(text: string, flag: string): number {
  const s = text.trim();
  let ms = 0;
  let at = 0;
  PART.lastIndex = 0;
  for (let m = PART.exec(s); m; m = PART.exec(s)) {
    ms += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    at = PART.lastIndex;
  }
  if (s === '' || at !== s.length) {
    throw usageError(`${flag}: "${text}" is not a duration; use a number with a unit (ms, s, m, h, d), e.g. 30s or 1h30m`);
  }
  return Math.round(ms);
}

/** Milliseconds as a short readable duration: `850ms`, `4.2s`, `3m05s`, `2h10m`, `3d4h`. */
export function formatDuration(ms: number): string {
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 10_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)}s`;
  const s = Math.floor(ms / 1_000);
  if (s < 60) return `${s}s`;
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (s < 3_600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3_600)}h${pad(Math.floor((s % 3_600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3_600)}h`;
}

/**
 * Parses an absolute time: an ISO 8601 timestamp (`2026-12-01T09:00:00Z`; without an
 * offset it is read as local time). Throws a usage error naming `flag`.
 */
export function parseTime(text: string, flag: string): Date {
  const d = /^\d{4}-\d{2}-\d{2}/.test(text.trim()) ? new Date(text.trim()) : new Date(Number.NaN);
  if (Number.isNaN(d.getTime())) throw usageError(`${flag}: "${text}" is not an ISO 8601 time, e.g. 2026-12-01T09:00:00Z`);
  return d;
}
