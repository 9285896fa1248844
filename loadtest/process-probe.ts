/**
 * Preloaded into the taskd processes the load test starts (NODE_OPTIONS `--import`),
 * before tsx: only erasable TypeScript and `node:` imports, so Node's own type
 * stripping runs it. Does nothing unless `LOADTEST_PROBE_DIR` is set. Then:
 *
 * - every second appends one JSON line to `<dir>/probe-<pid>.jsonl`: event-loop
 *   delay over that second (p50, p99, max, in ms; 10 ms resolution), CPU ms used in it,
 *   time its main thread waited for a CPU (run queue), GC pause time and longest pause
 *   in it, heap and RSS;
 * - with `LOADTEST_PROFILE=1`, runs the commands the load test writes to
 *   `<dir>/cmd-<pid>` (V8 CPU profiler, heap sampling; see below), so it can profile
 *   exactly one phase of one process.
 *
 * The probe never touches taskd's own code or output.
 */
import { appendFileSync, existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

const dir = process.env.LOADTEST_PROBE_DIR;

if (dir) {
  const file = `${dir}/probe-${process.pid}.jsonl`;
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const ns = (v: number): number => Math.round(v / 1e4) / 100; // ns → ms, 2 decimals
  let cpu = process.cpuUsage();
  // Main thread's time waiting on a run queue (runnable, no CPU free): machine contention, not our work.
  const runqueueNs = (): number => {
    try {
      return Number(readFileSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, 'utf8').split(' ')[1]);
    } catch {
      return 0;
    }
  };
  let waited = runqueueNs();
  let gcMs = 0;
  let gcMaxMs = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcMs += e.duration;
      gcMaxMs = Math.max(gcMaxMs, e.duration);
    }
  }).observe({ entryTypes: ['gc'] });
  setInterval(() => {
    const m = process.memoryUsage();
    const c = process.cpuUsage(cpu);
    cpu = process.cpuUsage();
    const w = runqueueNs();
    const waitMs = Math.round((w - waited) / 1e6);
    waited = w;
    const line = {
      t: Date.now(), p50: ns(delay.percentile(50)), p99: ns(delay.percentile(99)), max: ns(delay.max),
      cpuMs: Math.round((c.user + c.system) / 1000), waitMs, gcMs: Math.round(gcMs * 10) / 10, gcMaxMs: Math.round(gcMaxMs * 10) / 10,
      rss: m.rss, heapUsed: m.heapUsed, external: m.external,
    };
    gcMs = 0;
    gcMaxMs = 0;
    delay.reset();
    try {
      appendFileSync(file, `${JSON.stringify(line)}\n`);
    } catch {
      // the directory is gone: the load test has torn down
    }
  }, 1_000).unref();

  if (process.env.LOADTEST_PROFILE === '1') {
    // Commands arrive as lines in <dir>/cmd-<pid>: "cpu start", "cpu stop NAME",
    // "heap start", "heap stop NAME". A stop writes <dir>/NAME.cpuprofile or
    // NAME.heapprofile, then <dir>/NAME.done.
    const cmdFile = `${dir}/cmd-${process.pid}`;
    let session: Session | undefined;
    let busy = false;
    const connect = async (): Promise<Session> => {
      if (session === undefined) {
        session = new Session();
        session.connect();
      }
      return session;
    };
    const run = async (line: string): Promise<void> => {
      const [what, verb, name] = line.trim().split(/\s+/);
      const s = await connect();
      if (what === 'cpu' && verb === 'start') {
        await s.post('Profiler.enable');
        await s.post('Profiler.setSamplingInterval', { interval: 500 });
        await s.post('Profiler.start');
      } else if (what === 'cpu' && verb === 'stop' && name) {
        const { profile } = await s.post('Profiler.stop');
        writeFileSync(`${dir}/${name}.cpuprofile`, JSON.stringify(profile));
        writeFileSync(`${dir}/${name}.done`, '');
      } else if (what === 'heap' && verb === 'start') {
        await s.post('HeapProfiler.enable');
        await s.post('HeapProfiler.startSampling', { samplingInterval: 16_384 });
      } else if (what === 'heap' && verb === 'stop' && name) {
        const { profile } = await s.post('HeapProfiler.stopSampling');
        writeFileSync(`${dir}/${name}.heapprofile`, JSON.stringify(profile));
        writeFileSync(`${dir}/${name}.done`, '');
      }
    };
    setInterval(() => {
      if (busy || !existsSync(cmdFile)) return;
      busy = true;
      const lines = readFileSync(cmdFile, 'utf8').split('\n').filter((l) => l.trim() !== '');
      unlinkSync(cmdFile);
      void (async () => {
        for (const l of lines) {
          await run(l).catch((e: unknown) => appendFileSync(file, `${JSON.stringify({ t: Date.now(), profileError: `${l}: ${String(e)}` })}\n`));
        }
      })().finally(() => (busy = false));
    }, 200).unref();
  }
}
