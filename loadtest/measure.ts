import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { monitorEventLoopDelay, type ELDHistogram } from 'node:perf_hooks';
import { busyCores, cpuTotals, type CpuTotals } from '../bench/machine.js';
import { ProcessSampler } from '../bench/process-sampler.js';
import { linesIn, LOOP_RESOLUTION_MS, loopFigures, readProbe, type LoopFigures, type ProbeLine } from './probe-files.js';

/** A process the load test watches. */
export interface Watched {
  role: string;
  pid: number;
  /** Sum over the process tree (Postgres: postmaster and backends; memory as Pss). */
  tree?: boolean;
}

/** One process over one window. */
export interface ProcWindow {
  role: string;
  pid: number;
  /** CPU time over wall time, in % of one core. */
  cpuPct: number;
  cpuSec: number;
  /** Largest RSS sampled (every 500 ms) in the window, bytes. */
  rssPeak: number;
  rssEnd: number;
  /** The kernel's lifetime peak RSS (VmHWM) at the end, bytes. */
  hwm: number | undefined;
  /**
   * Share of the window the main thread was runnable but waited for a CPU (run queue,
   * /proc/<pid>/task/<pid>/schedstat): high means the machine, not this process, was the limit.
   */
  cpuWaitPct: number | undefined;
  /** Event loop, from the process probe (taskd processes) or this process's own monitor (the client). */
  loop: LoopFigures | undefined;
}

/** A measured window. */
export interface WindowFigures {
  seconds: number;
  startedAt: number;
  endedAt: number;
  procs: ProcWindow[];
  /** Busy cores of the whole machine (/proc/stat). */
  machineBusyCores: number;
  /** Busy cores not accounted for by the watched processes: other work on the machine. */
  otherCores: number;
}

/**
 * Measures CPU (/proc/<pid>/stat utime+stime deltas) and RSS (VmRSS, sampled every
 * 500 ms) of the watched processes from {@link MeasureWindow.open} to
 * {@link MeasureWindow.close}, with the event-loop figures their probes wrote.
 */
export class MeasureWindow {
  private readonly sampler = new ProcessSampler(500);
  private readonly stopSampling = new AbortController();
  private readonly sampling: Promise<void>;
  private readonly startedAt = Date.now();
  private readonly cpu0: CpuTotals = cpuTotals();
  private readonly t0 = performance.now();
  private readonly waited0: Map<number, number>;
  private readonly clientLoop: ELDHistogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  /** This process's loop, one entry per second, like the probes write for taskd's. */
  private readonly ownSeconds: ProbeLine[] = [];
  private readonly ownTimer: NodeJS.Timeout;

  private constructor(private readonly watched: Watched[], private readonly probeDir: string, private readonly clientPid: number) {
    for (const w of watched) this.sampler.track(w.role, w.pid, w.tree ?? false);
    this.waited0 = new Map(watched.flatMap((w) => {
      const ns = runqueueNs(w.pid);
      return w.tree || ns === undefined ? [] : [[w.pid, ns] as [number, number]];
    }));
    this.clientLoop.enable();
    this.ownTimer = setInterval(() => {
      const h = this.clientLoop;
      this.ownSeconds.push({ t: Date.now(), p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6, cpuMs: 0, rss: 0, heapUsed: process.memoryUsage().heapUsed });
      h.reset();
    }, 1_000);
    this.sampling = this.sampler.run(this.stopSampling.signal);
  }

  /** Starts measuring `watched`; `clientPid` is this process (its loop is measured in-process). */
  static open(watched: Watched[], probeDir: string, clientPid = process.pid): MeasureWindow {
    return new MeasureWindow(watched, probeDir, clientPid);
  }

  /** Stops and returns the figures. Probe lines are read 1.1 s later so the last second is in. */
  async close(): Promise<WindowFigures> {
    this.sampler.sampleOnce();
    const figures = this.sampler.figures();
    const waited = new Map([...this.waited0].map(([pid, ns]) => [pid, runqueueNs(pid) === undefined ? undefined : (runqueueNs(pid) as number) - ns]));
    const cpu1 = cpuTotals();
    const wall = (performance.now() - this.t0) / 1000;
    const endedAt = Date.now();
    this.stopSampling.abort();
    await this.sampling;
    clearInterval(this.ownTimer);
    this.clientLoop.disable();
    const own = loopFigures(this.ownSeconds);
    await new Promise((r) => setTimeout(r, 1_100));
    const procs = figures.map((f) => ({
      role: f.name, pid: f.pid, cpuSec: f.cpuSec,
      cpuWaitPct: waited.get(f.pid) === undefined ? undefined : ((waited.get(f.pid) as number) / 1e9 / wall) * 100, cpuPct: (f.cpuSec / wall) * 100, rssPeak: f.peakBytes, rssEnd: f.lastBytes, hwm: f.hwmBytes,
      loop: f.pid === this.clientPid ? own : loopFigures(linesIn(readProbe(this.probeDir, f.pid), this.startedAt + 500, endedAt + 500)),
    }));
    const busy = busyCores(this.cpu0, cpu1, cpus().length);
    const ours = figures.reduce((s, f) => s + f.cpuSec, 0) / wall;
    return { seconds: wall, startedAt: this.startedAt, endedAt, procs, machineBusyCores: busy, otherCores: Math.max(0, busy - ours) };
  }
}

/** Nanoseconds the main thread of `pid` has waited on a run queue; undefined when unreadable. */
function runqueueNs(pid: number): number | undefined {
  try {
    const v = Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[1]);
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}
