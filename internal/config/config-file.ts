import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Scalar } from 'yaml';
import { didYouMean } from './did-you-mean.js';

/** One setting as a config file wrote it: its key there, its line, and its value as text. */
export interface FileSetting {
  /** The key as written, e.g. `worker_slots`. */
  name: string;
  line: number;
  /** The value as an environment variable would carry it: a list joined with commas. */
  value: string;
}

/** The settings a config file may name (by their `TASKD_*` names) and which of them take lists. */
export interface SettingSpec {
  keys: readonly string[];
  isList(key: string): boolean;
}

/** A config file's settings by `TASKD_*` name, and every problem found, each as `path:line: …`. */
export interface ParsedConfigFile {
  settings: Map<string, FileSetting>;
  problems: string[];
}

const PREFIX = 'TASKD_';

/** The key a config file uses for a setting: `TASKD_WORKER_SLOTS` → `worker_slots`. */
export function fileKeyOf(envName: string): string {
  return envName.slice(PREFIX.length).toLowerCase();
}

/**
 * Parses the text of a config file: a YAML (or JSON) mapping from setting names, the
 * `TASKD_*` names without the prefix in lower case, to values. Every scalar is read as
 * text (YAML's failsafe schema), exactly as an environment variable would carry it, so
 * one schema coerces both alike and `8`, `"8"` and `0123` mean what they say. A list
 * setting takes a YAML list or a comma-separated string. Problems (syntax errors,
 * unknown keys with the closest known one, values of the wrong shape) are returned,
 * not thrown, each naming `path` and the line.
 */
export function parseConfigFile(text: string, path: string, spec: SettingSpec): ParsedConfigFile {
  const settings = new Map<string, FileSetting>();
  const lines = new LineCounter();
  const doc = parseDocument(text, { schema: 'failsafe', lineCounter: lines, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => `${path}:${e.linePos?.[0].line ?? 1}: ${e.message.split(/ at line \d+/)[0]}`);
    return { settings, problems };
  }
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === '')) return { settings, problems: [] };
  if (!isMap(root)) return { settings, problems: [`${path}: expected a mapping of settings (name: value), got ${shapeOf(root)}`] };
  const known = new Map(spec.keys.map((k) => [fileKeyOf(k), k]));
  const problems: string[] = [];
  for (const pair of root.items) {
    const keyNode = pair.key as Node | null;
    const at = `${path}:${keyNode?.range ? lines.linePos(keyNode.range[0]).line : 1}`;
    if (!isScalar(keyNode) || typeof keyNode.value !== 'string') {
      problems.push(`${at}: expected a setting name as the key`);
      continue;
    }
    const name = keyNode.value;
    const key = known.get(name);
    if (!key) {
      const guess = didYouMean(name.toLowerCase().replace(/^taskd_/, ''), known.keys());
      problems.push(`${at}: unknown setting "${name}"${guess ? ` (did you mean "${guess}"?)` : ''}`);
      continue;
    }
    const value = valueText(pair.value as Node | null, spec.isList(key));
    if ('problem' in value) problems.push(`${at}: ${name}: ${value.problem}`);
    else settings.set(key, { name, line: lines.linePos((keyNode.range as [number, number, number])[0]).line, value: value.text });
  }
  return { settings, problems };
}

function valueText(node: Node | null, list: boolean): { text: string } | { problem: string } {
  if (isScalar(node)) {
    if (isBlank(node)) return { problem: 'has no value (leave the line out for the default)' };
    return { text: node.value as string };
  }
  if (isSeq(node)) {
    if (!list) return { problem: 'expected a single value, got a list' };
    const items: string[] = [];
    for (const item of node.items as (Node | null)[]) {
      if (!isScalar(item) || isBlank(item)) return { problem: `expected a list of values, got an item that is ${isScalar(item) ? 'empty' : shapeOf(item)}` };
      const text = item.value as string;
      if (text.includes(',')) return { problem: `list items may not contain a comma ("${text}")` };
      items.push(text);
    }
    return { text: items.join(',') };
  }
  if (node === null) return { problem: 'has no value (leave the line out for the default)' };
  return { problem: `expected a value, got ${shapeOf(node)}` };
}

function isBlank(s: Scalar): boolean {
  return s.value === '' && s.type === 'PLAIN';
}

function shapeOf(node: Node | null): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  return 'a single value';
}
