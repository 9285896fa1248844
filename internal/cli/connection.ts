import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { usageError } from './cli-error.js';

/** Where taskctl sends its requests, and as whom. */
export interface Connection {
  /** Base URL of an apiserver, e.g. `http://127.0.0.1:8080`. */
  server: string;
  /** Sent as `authorization: Bearer <token>` when set. */
  token?: string;
  /** Namespace for every request; empty = the server's default ("default"). */
  namespace: string;
}

/** The global flags that choose a connection. */
export interface ConnectionFlags {
  server?: string;
  token?: string;
  namespace?: string;
  context?: string;
  config?: string;
}

/** Environment variables taskctl reads. */
export const ENV = {
  server: 'TASKD_SERVER',
  token: 'TASKD_TOKEN',
  config: 'TASKCTL_CONFIG',
  context: 'TASKCTL_CONTEXT',
} as const;

/** The server used when neither flag, environment nor config file names one (`npm start`'s address). */
export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

const entrySchema = z.strictObject({
  server: z.string().min(1).optional(),
  token: z.string().min(1).optional(),
  namespace: z.string().min(1).optional(),
});
const fileSchema = entrySchema.extend({
  'current-context': z.string().min(1).optional(),
  contexts: z.record(z.string(), entrySchema).optional(),
});
/** The config file's shape (YAML or JSON). */
export type ConfigFile = z.infer<typeof fileSchema>;

/** The config file's path: `--config`, else `$TASKCTL_CONFIG`, else `$XDG_CONFIG_HOME/taskd/taskctl.yaml` (`~/.config/…`). */
export function configPath(flags: ConnectionFlags, env: Record<string, string | undefined>, home: string): { path: string; explicit: boolean } {
  const given = flags.config ?? env[ENV.config];
  if (given) return { path: given, explicit: true };
  return { path: join(env.XDG_CONFIG_HOME || join(home, '.config'), 'taskd', 'taskctl.yaml'), explicit: false };
}

/** Parses and checks a config file's text; throws a usage error naming `path` and the problem. */
export function parseConfigFile(text: string, path: string): ConfigFile {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (e) {
    throw usageError(`config ${path}: ${(e as Error).message.split('\n')[0]}`);
  }
  const r = fileSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    const where = i && i.path.length > 0 ? `${i.path.join('.')}: ` : '';
    throw usageError(`config ${path}: ${where}${i?.message ?? 'invalid'}`);
  }
  return r.data;
}

/**
 * Chooses server, token and namespace, each from the first that sets it: flags
 * (`--server`, `--token`, `--namespace`), environment (`TASKD_SERVER`, `TASKD_TOKEN`),
 * the config file's selected context, the config file's top level; the server
 * defaults to {@link DEFAULT_SERVER}. The context is `--context`, else
 * `$TASKCTL_CONTEXT`, else the file's `current-context`. `file` is the parsed config
 * file, or undefined when there is none. Throws a usage error for an unknown context
 * or a server that is not an http(s) URL.
 */
export function resolveConnection(flags: ConnectionFlags, env: Record<string, string | undefined>, file: ConfigFile | undefined): Connection {
  const contextName = flags.context ?? env[ENV.context] ?? file?.['current-context'];
  let context: z.infer<typeof entrySchema> = {};
  if (contextName !== undefined && contextName !== '') {
    const found = file?.contexts?.[contextName];
    if (!found) {
      const known = Object.keys(file?.contexts ?? {});
      throw usageError(`context "${contextName}" is not in the config file${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`);
    }
    context = found;
  }
  const server = flags.server || env[ENV.server] || context.server || file?.server || DEFAULT_SERVER;
  const token = flags.token || env[ENV.token] || context.token || file?.token;
  const namespace = flags.namespace || context.namespace || file?.namespace || '';
  return { server: normalizeServer(server), ...(token ? { token } : {}), namespace };
}

/** `host:port` → `http://host:port`; a URL keeps its scheme (http or https only); trailing slashes go. */
export function normalizeServer(s: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(s) ? s : `http://${s}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw usageError(`server "${s}" is not a URL or host:port`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw usageError(`server "${s}": only http:// and https:// are supported`);
  return withScheme.replace(/\/+$/, '');
}
