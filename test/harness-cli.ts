/**
 * What the harness mains (`npm run bench`, `npm run chaos`) share: a timestamped log
 * line to stderr, argument parsing that prints usage and exits 0 (`--help`) or 2 (a bad
 * argument), and SIGINT/SIGTERM that abort a run, then force an exit on the second.
 */
export function harnessLog(name: string): (msg: string) => void {
  return (msg) => void process.stderr.write(`[${name} ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

export function parseOrExit<T extends { help?: boolean }>(parse: (argv: string[]) => T, usage: string): T {
  try {
    const opts = parse(process.argv.slice(2));
    if (opts.help) {
      console.log(usage);
      process.exit(0);
    }
    return opts;
  } catch (e) {
    console.error(`${(e as Error).message}\n${usage}`);
    process.exit(2);
  }
}

export function abortOnSignals(ctl: AbortController, log: (msg: string) => void): void {
  const handler = (sig: NodeJS.Signals): void => {
    if (ctl.signal.aborted) {
      log(`second ${sig}: killing everything now`);
      process.exit(130); // exit hooks kill the taskd processes and both servers
    }
    log(`${sig}: stopping and tearing down (again to force)`);
    ctl.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
