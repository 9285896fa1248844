import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { runCommand } from '../test/servers/exec.js';

/** The machine a bench ran on. */
export interface MachineInfo {
  cpuModel: string;
  cpuCount: number;
  totalMemBytes: number;
  node: string;
  kernel: string;
  postgres: string;
  /** 1-minute load average when the bench started: other work on the machine skews every figure. */
  loadAvg1: number;
  /** See {@link codeVersion}. */
  code: string;
}

/** Describes this machine; `postgres` is the server's `select version()`, `code` the {@link codeVersion}. */
export function machineInfo(postgres: string, code: string): MachineInfo {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cpuCount: list.length,
    totalMemBytes: totalmem(),
    node: process.version,
    kernel: `${process.platform} ${release()}`,
    postgres,
    code,
    loadAvg1: loadavg()[0] ?? Number.NaN,
  };
}

/** Aggregate CPU time of the whole machine from /proc/stat, in ticks (USER_HZ). */
export interface CpuTotals {
  /** Ticks spent not idle (user, nice, system, irq, softirq, steal). */
  busy: number;
  /** All ticks, idle and iowait included. */
  total: number;
}

/** Parses the aggregate `cpu ` line of /proc/stat. Throws if there is none. */
export function parseCpuTotals(procStat: string): CpuTotals {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (line === undefined) throw new Error('no aggregate "cpu" line in /proc/stat');
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
  return { busy, total: busy + (idle ?? 0) + (iowait ?? 0) };
}

/** The machine's CPU totals now (Linux). */
export function cpuTotals(): CpuTotals {
  return parseCpuTotals(readFileSync('/proc/stat', 'utf8'));
}

/**
 * Average busy cores between two readings: busy ticks over all ticks, times the
 * number of CPUs. NaN when no time passed.
 */
export function busyCores(from: CpuTotals, to: CpuTotals, cpuCount: number): number {
  const total = to.total - from.total;
  return total > 0 ? ((to.busy - from.busy) / total) * cpuCount : Number.NaN;
}

/**
 * The code under test: `git rev-parse --short HEAD` of the repository, with
 * " + uncommitted changes" when tracked files differ from it; "unknown" outside a
 * git checkout. Never throws.
 */
export async function codeVersion(repoRoot: string): Promise<string> {
  try {
    const head = (await runCommand('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD'])).stdout.trim();
    const dirty = (await runCommand('git', ['-C', repoRoot, 'status', '--porcelain', '--untracked-files=no'])).stdout.trim();
    return dirty === '' ? head : `${head} + uncommitted changes`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}
