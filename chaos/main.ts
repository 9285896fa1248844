import { writeFileSync } from 'node:fs';
import { parseChaosArgs, USAGE, type ChaosOptions } from './args.js';
import { ChaosInterrupted, runChaos } from './harness.js';
import { OwnServers } from './own-servers.js';
import { renderSummary } from './report.js';

const log = (msg: string): void => void process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

function parseOrExit(): ChaosOptions {
  try {
    const opts = parseChaosArgs(process.argv.slice(2));
    if (opts.help) {
      console.log(USAGE);
      process.exit(0);
    }
    return opts;
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

function onSignals(ctl: AbortController): void {
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

/** `npm run chaos`: a chaos run on private Postgres and Redis; exits 1 on any violation, 130 when interrupted. */
async function main(): Promise<number> {
  const opts = parseOrExit();
  const ctl = new AbortController();
  onSignals(ctl);
  log(`seed ${opts.seed}; starting Postgres and Redis`);
  const servers = await OwnServers.start();
  const killServers = (): void => servers.killNow();
  process.on('exit', killServers);
  try {
    const result = await runChaos(servers, { ...opts }, { signal: ctl.signal, log });
    console.log(`\n${renderSummary(result)}`);
    if (opts.json !== undefined) writeFileSync(opts.json, `${JSON.stringify(result, null, 2)}\n`);
    return result.violations.length === 0 ? 0 : 1;
  } catch (e) {
    if (e instanceof ChaosInterrupted) return 130;
    console.error(`\nchaos run failed: ${(e as Error).stack ?? String(e)}`);
    return 1;
  } finally {
    log('tearing down');
    await servers.stop().catch((e: unknown) => log((e as Error).message));
    process.off('exit', killServers);
  }
}

process.exitCode = await main();
