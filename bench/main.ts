import { writeFileSync } from 'node:fs';
import { abortOnSignals, harnessLog, parseOrExit } from '../test/harness-cli.js';
import { REPO_ROOT } from '../test/procs.js';
import { parseBenchArgs, USAGE, type BenchOptions, type Mode } from './args.js';
import { runBacklog } from './backlog.js';
import { runDelays } from './delays.js';
import { runLatency } from './latency.js';
import { codeVersion, machineInfo, type MachineInfo } from './machine.js';
import type { ModeContext } from './mode.js';
import { attemptsOk, postgresVersion, type AttemptCheck } from './queries.js';
import { renderBacklog, renderDelays, renderHeader, renderLatency, renderThroughput } from './report.js';
import { BenchServers } from './servers.js';
import { runThroughput } from './throughput.js';

/** Runs a mode and renders its report section. */
type ModeRunner = (ctx: ModeContext) => Promise<{ result: ModeOutcome; text: string }>;

/** What main checks in every mode's result: a failed mode still reports its figures. */
interface ModeOutcome {
  attempts: AttemptCheck;
  failure?: string | undefined;
}

function runner<R extends ModeOutcome>(run: (ctx: ModeContext) => Promise<R>, render: (r: R) => string): ModeRunner {
  return async (ctx) => {
    const result = await run(ctx);
    return { result, text: render(result) };
  };
}

const RUNNERS: Record<Mode, ModeRunner> = {
  throughput: runner(runThroughput, renderThroughput),
  latency: runner(runLatency, renderLatency),
  delays: runner(runDelays, renderDelays),
  backlog: runner(runBacklog, renderBacklog),
};

/** What `--json` writes. */
interface JsonReport {
  startedAt: string;
  machine?: MachineInfo;
  options: BenchOptions;
  results: Partial<Record<Mode, unknown>>;
  error?: string;
}

const log = harnessLog('bench');

/** Runs the selected modes one after the other, printing each section; true when all passed their checks. */
async function runModes(ctx: ModeContext, report: JsonReport): Promise<boolean> {
  let ok = true;
  for (const mode of ctx.opts.modes) {
    const { result, text } = await RUNNERS[mode](ctx);
    report.results[mode] = result;
    if ('endToEndRate' in result && typeof result.endToEndRate === 'number') ctx.maxRate = result.endToEndRate;
    console.log(`\n${text}`);
    if (!attemptsOk(result.attempts) || result.failure !== undefined) ok = false;
  }
  return ok;
}

async function main(): Promise<number> {
  const opts = parseOrExit(parseBenchArgs, USAGE);
  const ctl = new AbortController();
  abortOnSignals(ctl, log);
  const report: JsonReport = { startedAt: new Date().toISOString(), options: opts, results: {} };
  log(opts.events === 'kafka' ? 'starting Postgres, Redis and Kafka' : 'starting Postgres and Redis');
  const servers = await BenchServers.start({ kafka: opts.events === 'kafka' });
  const killServers = (): void => servers.killNow();
  process.on('exit', killServers);
  let code = 0;
  try {
    report.machine = machineInfo(await servers.withAdmin((c) => postgresVersion(c)), await codeVersion(REPO_ROOT));
    console.log(renderHeader(report.machine, opts));
    if (!(await runModes({ servers, opts, signal: ctl.signal, log }, report))) {
      console.log('\nFAILED: a mode timed out or some task did not run exactly once (see above)');
      code = 1;
    }
  } catch (e) {
    report.error = (e as Error).stack ?? String(e);
    console.error(`\nbench failed: ${report.error}`);
    code = ctl.signal.aborted ? 130 : 1;
  } finally {
    log('tearing down');
    await servers.stop().catch((e: unknown) => log((e as Error).message));
    process.off('exit', killServers);
  }
  if (opts.json !== undefined) {
    writeFileSync(opts.json, `${JSON.stringify(report, null, 2)}\n`);
    log(`wrote ${opts.json}`);
  }
  return code;
}

process.exitCode = await main();
