import type { Logger } from '../shared/logger.js';

/**
 * Runs a process's main until SIGTERM/SIGINT: the first signal aborts `main`'s signal
 * and waits for it to settle (ordered shutdown); a second signal, or `graceMs` passing,
 * forces exit. Exits 0 after a clean stop, 1 when `main` threw.
 */
export function runProcess(logger: Logger, main: (signal: AbortSignal) => Promise<void>, graceMs = 30_000): void {
  const ctl = new AbortController();
  let stopping = false;
  const onSignal = (sig: string): void => {
    if (stopping) {
      logger.warn({ signal: sig }, 'second signal; exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal: sig }, 'shutting down');
    ctl.abort();
    setTimeout(() => {
      logger.error({ graceMs }, 'shutdown grace period passed; exiting');
      process.exit(1);
    }, graceMs).unref();
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  main(ctl.signal).then(
    () => {
      logger.info('stopped');
      process.exit(0);
    },
    (e: unknown) => {
      logger.fatal({ err: e }, 'failed');
      process.exit(1);
    },
  );
}
