import { usageError } from './cli-error.js';

/** `--label k=v` (repeatable) into a map; a later key wins. Throws a usage error for a pair without `=` or key. */
export function parseLabels(pairs: string[], flag = '--label'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) throw usageError(`${flag}: "${p}" is not key=value`);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

/** An integer flag value; throws a usage error naming `flag` for anything else. Range checks are the server's. */
export function parseInteger(text: string, flag: string): number {
  if (!/^-?\d+$/.test(text.trim())) throw usageError(`${flag}: "${text}" is not an integer`);
  return Number(text);
}

/** A positive integer (page sizes, limits). */
export function parsePositive(text: string, flag: string): number {
  const n = parseInteger(text, flag);
  if (n < 1) throw usageError(`${flag}: must be at least 1`);
  return n;
}

/** JSON text; throws a usage error naming `what` with the parser's reason. */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw usageError(`${what}: not valid JSON (${(e as Error).message})`);
  }
}

/** Collects a repeatable option's values (commander's `argParser` for `--x a --x b`). */
export const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** Collects a repeatable, comma-separated option (`--status running,failed --status queued`). */
export const collectList = (value: string, previous: string[] | undefined): string[] => [
  ...(previous ?? []),
  ...value.split(',').map((s) => s.trim()).filter((s) => s !== ''),
];

/**
 * Reads an enum value given by name in any spelling people type (`dead-lettered`,
 * `DEAD_LETTERED`, `TASK_STATUS_DEAD_LETTERED`) against a protobuf-es enum object
 * whose keys are the names without prefix. Throws a usage error listing the choices.
 */
export function parseEnumName<E extends Record<string, string | number>>(text: string, e: E, prefix: string, flag: string): E[keyof E] {
  const key = text.trim().toUpperCase().replace(/-/g, '_').replace(new RegExp(`^${prefix}_`), '');
  const value = e[key as keyof E];
  if (typeof value !== 'number' || value === 0) {
    const choices = Object.keys(e).filter((k) => Number.isNaN(Number(k)) && k !== 'UNSPECIFIED').map((k) => k.toLowerCase().replace(/_/g, '-'));
    throw usageError(`${flag}: "${text}" is not one of ${choices.join(', ')}`);
  }
  return value as E[keyof E];
}
