import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { parseConfigFile, type SettingSpec } from './config-file.js';
import { didYouMean } from './did-you-mean.js';

/** Where a setting's value came from. */
export type SettingOrigin =
  | { kind: 'default' }
  | { kind: 'env' }
  | { kind: 'file'; path: string; line: number; name: string };

/** Every setting's value as text, from the process's defaults, the config file and the environment, before validation. */
export interface ConfigInput {
  values: Record<string, string>;
  origins: Map<string, SettingOrigin>;
  /** Unreadable file, syntax errors, unknown keys in the file: each names where. */
  problems: string[];
}

/** The config file's text, or why it could not be read (naming the path). */
export type ConfigText = { text: string } | { problem: string };

/**
 * `TASKD_*` variables that are not settings of taskd's processes: the client settings of
 * taskctl (a shell that exports them must still start a server or worker) and the name
 * of the config file itself.
 */
const NOT_SETTINGS = new Set(['TASKD_SERVER', 'TASKD_TOKEN', 'TASKD_CONFIG_FILE']);

const REASONS: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'it is a directory' };

/** Reads the config file named by TASKD_CONFIG_FILE. Never throws. */
export function readConfigText(path: string): ConfigText {
  try {
    return { text: readFileSync(path, 'utf8') };
  } catch (e) {
    return unreadable(path, e);
  }
}

/** Why the config file at `path` could not be read, naming it. */
export function unreadable(path: string, e: unknown): ConfigText {
  const err = e as NodeJS.ErrnoException;
  return { problem: `TASKD_CONFIG_FILE: cannot read "${path}" (${REASONS[err.code ?? ''] ?? err.message})` };
}

/**
 * Gathers the settings: `defaults` (a process's own, below everything), then the file
 * `env.TASKD_CONFIG_FILE` names (its text is read unless `fileText` is given), then the
 * `TASKD_*` variables of `env`, each overriding the one before key by key. `TASKD_TEST_*`
 * and {@link NOT_SETTINGS} are skipped. Unknown keys in the file are problems here;
 * unknown variables are left for the (strict) schema to refuse.
 */
export function gatherConfigInput(env: NodeJS.ProcessEnv, defaults: Record<string, string>, spec: SettingSpec, fileText?: ConfigText): ConfigInput {
  const values: Record<string, string> = {};
  const origins = new Map<string, SettingOrigin>();
  const problems: string[] = [];
  for (const [k, v] of Object.entries(defaults)) {
    values[k] = v;
    origins.set(k, { kind: 'default' });
  }
  const path = env.TASKD_CONFIG_FILE;
  if (path) {
    const read = fileText ?? readConfigText(path);
    if ('problem' in read) problems.push(read.problem);
    else {
      const file = parseConfigFile(read.text, path, spec);
      problems.push(...file.problems);
      for (const [k, s] of file.settings) {
        values[k] = s.value;
        origins.set(k, { kind: 'file', path, line: s.line, name: s.name });
      }
    }
  }
  for (const [k, v] of Object.entries(env)) {
    if (!k.startsWith('TASKD_') || v === undefined || k.startsWith('TASKD_TEST_') || NOT_SETTINGS.has(k)) continue;
    values[k] = v;
    origins.set(k, { kind: 'env' });
  }
  return { values, origins, problems };
}

/** How a message names a setting: `TASKD_X` from the environment or a default, `x (path:line)` from the file. */
export function settingLabel(input: ConfigInput, key: string): string {
  const o = input.origins.get(key);
  return o?.kind === 'file' ? `${o.name} (${o.path}:${o.line})` : key;
}

/**
 * One schema issue as the user should read it: where the value was written (the
 * variable, or `path:line: name`), the rule, and the value received unless the setting
 * is a secret. An unknown variable gets the closest known name.
 */
export function describeIssue(issue: z.core.$ZodIssue, input: ConfigInput, spec: SettingSpec & { isSecret(key: string): boolean }): string[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => {
      const guess = didYouMean(k, spec.keys);
      return `unknown setting ${k}${guess ? ` (did you mean ${guess}?)` : ''}`;
    });
  }
  const key = String(issue.path[0]);
  const o = input.origins.get(key);
  const where = o?.kind === 'file' ? `${o.path}:${o.line}: ${o.name}` : key;
  const raw = input.values[key];
  const got = raw === undefined || spec.isSecret(key) ? '' : `, got "${raw}"`;
  return [`${where}: ${issue.message}${got}`];
}

/**
 * Messages for zod's default issues that say what was expected in a user's words; issues
 * with a message of their own in the schema keep it.
 */
export function settingMessage(issue: z.core.$ZodRawIssue): string | undefined {
  const min = issue.inclusive === false ? 'greater than' : 'at least';
  const max = issue.inclusive === false ? 'less than' : 'at most';
  const unit = issue.origin === 'string' ? ' characters' : '';
  switch (issue.code) {
    case 'invalid_type':
      return issue.expected === 'int' ? 'expected a whole number' : issue.expected === 'number' ? 'expected a number' : `expected ${issue.expected}`;
    case 'too_small':
      return `must be ${min} ${String(issue.minimum)}${unit}`;
    case 'too_big':
      return `must be ${max} ${String(issue.maximum)}${unit}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map(String).join(', ')}`;
    case 'invalid_format':
      return issue.format === 'url' ? 'expected a URL' : `expected the ${issue.format} format`;
    default:
      return undefined;
  }
}
