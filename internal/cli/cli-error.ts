import { ExitCode, type ExitCodeValue } from './exit-code.js';

/**
 * An error the CLI itself raises: the message is printed as is (one line) and the
 * process exits with `exitCode`.
 */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCodeValue,
    message: string,
    /** Short machine-ish label printed before the message, e.g. "usage" or "failed". */
    readonly label = 'error',
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A bad flag value, file or argument (exit 2). */
export const usageError = (message: string): CliError => new CliError(ExitCode.usage, message, 'usage');
