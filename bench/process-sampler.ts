import { readFileSync } from 'node:fs';
import { sleep } from '../internal/shared/sleep.js';

/** Linux reports CPU time in USER_HZ ticks, 100 per second on every mainstream architecture. */
const TICKS_PER_SECOND = 100;

/** One watched process's (or process tree's) figures. */
export interface ProcessFigures {
  name: string;
  pid: number;
  /** Largest memory seen by sampling (VmRSS; summed Pss for a tree), bytes. */
  peakBytes: number;
  /** Memory at the last sample, bytes. */
  lastBytes: number;
  /** The kernel's own peak RSS (VmHWM) at the last sample; undefined for trees. */
  hwmBytes: number | undefined;
  /** CPU time (user + system) used since tracking began, seconds. */
  cpuSec: number;
  /** Wall time since tracking began, seconds. */
  wallSec: number;
}

interface Target {
  figures: ProcessFigures;
  tree: boolean;
  startedAt: number;
  /** CPU ticks per pid at its previous sample. */
  ticks: Map<number, number>;
  cpuTicks: number;
}

/**
 * Samples memory and CPU time of named processes every `intervalMs` from /proc
 * (Linux). A single process's memory is its VmRSS; a process tree's (Postgres:
 * postmaster and backends) is the sum of Pss over the tree, so shared memory
 * counts once. Tree members that appear later count all their CPU time. A process
 * that has exited keeps its last figures.
 */
export class ProcessSampler {
  private readonly targets = new Map<number, Target>();

  constructor(private readonly intervalMs = 500) {
    if (intervalMs <= 0) throw new Error('ProcessSampler: intervalMs must be positive');
  }

  /** Starts watching `pid` under `name`; `tree` includes its descendants. No-op if already watched. */
  track(name: string, pid: number, tree = false): void {
    if (this.targets.has(pid)) return;
    const figures = { name, pid, peakBytes: 0, lastBytes: 0, hwmBytes: undefined, cpuSec: 0, wallSec: 0 };
    const t: Target = { figures, tree, startedAt: performance.now(), ticks: new Map(), cpuTicks: 0 };
    for (const p of tree ? descendants(pid) : [pid]) {
      const ticks = cpuTicks(p);
      if (ticks !== undefined) t.ticks.set(p, ticks);
    }
    this.targets.set(pid, t);
    this.sampleOne(t);
  }

  /** Samples until `signal` aborts; settles then. */
  async run(signal: AbortSignal): Promise<void> {
    while (await sleep(this.intervalMs, signal)) this.sampleOnce();
  }

  /** Takes one sample of every target. */
  sampleOnce(): void {
    for (const t of this.targets.values()) this.sampleOne(t);
  }

  /** The figures of every target, in the order they were tracked. */
  figures(): ProcessFigures[] {
    return [...this.targets.values()].map((t) => ({ ...t.figures }));
  }

  private sampleOne(t: Target): void {
    const pids = t.tree ? descendants(t.figures.pid) : [t.figures.pid];
    let bytes = 0;
    for (const p of pids) {
      const ticks = cpuTicks(p);
      if (ticks !== undefined) {
        t.cpuTicks += ticks - (t.ticks.get(p) ?? 0);
        t.ticks.set(p, ticks);
      }
      if (t.tree) bytes += smapsPss(p) ?? 0;
    }
    const status = t.tree ? undefined : readProc(t.figures.pid, 'status');
    if (status !== undefined) {
      bytes = kbField(status, 'VmRSS') ?? 0;
      t.figures.hwmBytes = kbField(status, 'VmHWM');
    }
    if (bytes === 0) return; // gone: keep the last figures
    const f = t.figures;
    f.lastBytes = bytes;
    f.peakBytes = Math.max(f.peakBytes, bytes);
    f.cpuSec = t.cpuTicks / TICKS_PER_SECOND;
    f.wallSec = (performance.now() - t.startedAt) / 1000;
  }
}

/** A `Name:  123 kB` field of /proc/<pid>/status or smaps_rollup, in bytes. */
export function kbField(text: string, field: string): number | undefined {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** utime + stime from the text of /proc/<pid>/stat, in ticks. */
export function statCpuTicks(stat: string): number | undefined {
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : undefined;
}

function cpuTicks(pid: number): number | undefined {
  const stat = readProc(pid, 'stat');
  return stat === undefined ? undefined : statCpuTicks(stat);
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

function smapsPss(pid: number): number | undefined {
  const text = readProc(pid, 'smaps_rollup');
  return text === undefined ? undefined : kbField(text, 'Pss');
}

/** `pid` and all its descendants (via /proc/<pid>/task/<pid>/children); [] if it is gone. */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop() as number;
    const children = readProc(p, `task/${p}/children`);
    if (children === undefined) continue;
    out.push(p);
    for (const c of children.trim().split(/\s+/)) if (c) stack.push(Number(c));
  }
  return out;
}
