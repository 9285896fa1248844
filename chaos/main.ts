import { writeFileSync } from 'node:fs';
import { abortOnSignals, harnessLog, parseOrExit } from '../test/harness-cli.js';
import { parseChaosArgs, USAGE } from './args.js';
import { ChaosInterrupted, runChaos } from './harness.js';
import { OwnServers } from './own-servers.js';
import { renderSummary } from './report.js';

const log = harnessLog('chaos');

/** `npm run chaos`: a chaos run on private Postgres and Redis; exits 1 on any violation, 130 when interrupted. */
async function main(): Promise<number> {
  const opts = parseOrExit(parseChaosArgs, USAGE);
  const ctl = new AbortController();
  abortOnSignals(ctl, log);
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
