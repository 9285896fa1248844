import type { CliIo } from './cli-io.js';
import { reportError } from './error-report.js';
import { ExitCode, type ExitCodeValue } from './exit-code.js';
import { buildProgram } from './program.js';

/**
 * Runs taskctl with `argv` (the arguments after the program name) and resolves with
 * the exit code (see exit-code.ts). Never throws and never exits the process: errors
 * are reported on `io.stderr` as one line (plus field violations).
 */
export async function runTaskctl(argv: string[], io: CliIo): Promise<ExitCodeValue> {
  try {
    await buildProgram(io).parseAsync(argv, { from: 'user' });
    return ExitCode.ok;
  } catch (e) {
    const r = reportError(e);
    for (const l of r.lines) io.stderr.write(`${l}\n`);
    return r.exitCode;
  }
}
