import type { Command } from 'commander';
import type { CliIo } from './cli-io.js';
import { parseDuration } from './duration.js';
import { openSession, type Session } from './session.js';

/** A command's body: the session, its positional arguments and its own options. */
export type ActionBody<O> = (s: Session, args: string[], opts: O, cmd: Command) => Promise<void>;

/**
 * Adapts `body` to commander's action signature (arguments…, options, command),
 * opening the session only when the command actually runs (never for --help).
 */
export function action<O>(io: CliIo, body: ActionBody<O>): (...a: unknown[]) => Promise<void> {
  return async (...a: unknown[]): Promise<void> => {
    const cmd = a[a.length - 1] as Command;
    await body(openSession(cmd, io), cmd.processedArgs as string[], cmd.opts() as O, cmd);
  };
}

/** The `--wait-timeout` flag, shared by every command that waits for an end. */
export const WAIT_TIMEOUT_FLAG = ['--wait-timeout <duration>', 'give up waiting after this long (exit 5)'] as const;

/** `--wait-timeout` in ms, or undefined when not given. */
export const waitTimeoutOf = (o: { waitTimeout?: string }): number | undefined =>
  o.waitTimeout === undefined ? undefined : parseDuration(o.waitTimeout, '--wait-timeout');
