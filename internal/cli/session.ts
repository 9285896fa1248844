import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { createApiClients, type ApiClients } from './api-clients.js';
import { usageError } from './cli-error.js';
import type { CliIo } from './cli-io.js';
import { configPath, parseConfigFile, resolveConnection, type ConfigFile, type Connection, type ConnectionFlags } from './connection.js';
import { parseDuration } from './duration.js';
import { Printer, type OutputFormat } from './printer.js';

/** The global options every command accepts. */
export interface GlobalOptions extends ConnectionFlags {
  output: OutputFormat;
  requestTimeout: string;
}

/** What a command's action works with. */
export interface Session {
  io: CliIo;
  out: Printer;
  conn: Connection;
  api: ApiClients;
  /** Options for every unary call (its deadline). */
  call: { timeoutMs: number };
  now: () => number;
}

/**
 * Builds the session of the command being run from its global options, the
 * environment and the config file. Throws a usage error for a bad config file,
 * context, server or timeout.
 */
export function openSession(cmd: Command, io: CliIo): Session {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const { path, explicit } = configPath(g, io.env, io.home);
  const conn = resolveConnection(g, io.env, loadConfigFile(path, explicit));
  const timeoutMs = parseDuration(g.requestTimeout, '--request-timeout');
  if (timeoutMs <= 0) throw usageError('--request-timeout: must be more than 0');
  return { io, out: new Printer(g.output, io.stdout), conn, api: createApiClients(conn), call: { timeoutMs }, now: Date.now };
}

/** The config file at `path`; undefined when there is none there and none was asked for. */
function loadConfigFile(path: string, explicit: boolean): ConfigFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) return undefined;
    throw usageError(`config ${path}: ${(e as Error).message}`);
  }
  return parseConfigFile(text, path);
}
