import { Code, ConnectError } from '@connectrpc/connect';
import { CommanderError } from 'commander';
import { BadRequestSchema } from '../../gen/google/rpc/error_details_pb.js';
import { CliError } from './cli-error.js';
import { ExitCode, exitCodeOfRpc, type ExitCodeValue } from './exit-code.js';

/** What to print for an error, and the exit code. */
export interface ErrorReport {
  exitCode: ExitCodeValue;
  /** Lines for stderr: the first is the whole story; any further ones list field violations. */
  lines: string[];
}

/** "InvalidArgument" → "invalid_argument": the gRPC code as the Connect protocol spells it. */
export const codeName = (c: Code): string => (Code[c] ?? 'unknown').replace(/[A-Z]/g, (ch, i: number) => (i > 0 ? '_' : '') + ch.toLowerCase());

/**
 * Turns anything thrown by a command into its exit code and stderr lines:
 * `taskctl: <code>: <message>`. An INVALID_ARGUMENT's field violations follow, one per
 * line, unless the message already lists them all. Commander's own parse errors are
 * printed by commander; they only get their exit code here (2; 0 for --help/--version).
 */
export function reportError(e: unknown): ErrorReport {
  if (e instanceof CommanderError) {
    const ok = e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0;
    return { exitCode: ok ? ExitCode.ok : ExitCode.usage, lines: [] };
  }
  if (e instanceof CliError) return { exitCode: e.exitCode, lines: [`taskctl: ${e.label}: ${e.message}`] };
  if (e instanceof ConnectError) {
    const violations = e.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => `${v.field}: ${v.description}`));
    const message = e.rawMessage || codeName(e.code);
    const lines = [`taskctl: ${codeName(e.code)}: ${oneLine(message)}`];
    if (violations.some((v) => !message.includes(v))) lines.push(...violations.map((v) => `  ${oneLine(v)}`));
    return { exitCode: exitCodeOfRpc(e.code), lines };
  }
  const message = e instanceof Error ? e.message : String(e);
  return { exitCode: ExitCode.error, lines: [`taskctl: error: ${oneLine(message)}`] };
}

const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, ' ').trim();
