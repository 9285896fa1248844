import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Resolution of every event-loop monitor here (`process-probe.ts` and the client's):
 * Node's histogram records the whole timer interval, so this much of every value is
 * the tick itself, not delay. Figures below have it subtracted.
 */
export const LOOP_RESOLUTION_MS = 10;

/** One second of one process, as `process-probe.ts` wrote it. */
export interface ProbeLine {
  /** Epoch ms at the end of the second. */
  t: number;
  /** Event-loop delay percentiles over the second, ms. */
  p50: number;
  p99: number;
  max: number;
  /** CPU time used in the second, ms (1000 = one core). */
  cpuMs: number;
  /** Time the main thread was runnable but waited for a CPU in the second, ms (absent in the client's own lines). */
  waitMs?: number;
  /** GC pause time in the second and the longest single pause, ms (absent in the client's own lines). */
  gcMs?: number;
  gcMaxMs?: number;
  rss: number;
  heapUsed: number;
}

/** Event-loop delay figures of a window (the tick of {@link LOOP_RESOLUTION_MS} subtracted). */
export interface LoopFigures {
  seconds: number;
  /** Median over the seconds of each second's p50, ms. */
  p50: number;
  /** Largest per-second p99, ms. */
  worstP99: number;
  /** Largest single delay, ms. */
  max: number;
  /** Largest heap used, bytes. */
  heapPeak: number;
  /** GC pauses: share of the window's wall time, and the longest single pause, ms (undefined when not measured). */
  gcPct: number | undefined;
  gcMaxMs: number | undefined;
}

/** The probe lines of process `pid` (none when it wrote nothing). */
export function readProbe(dir: string, pid: number): ProbeLine[] {
  let text: string;
  try {
    text = readFileSync(join(dir, `probe-${pid}.jsonl`), 'utf8');
  } catch {
    return [];
  }
  const out: ProbeLine[] = [];
  for (const l of text.split('\n')) {
    if (!l.startsWith('{')) continue;
    const v = JSON.parse(l) as Partial<ProbeLine>;
    if (typeof v.t === 'number' && typeof v.p99 === 'number') out.push(v as ProbeLine);
  }
  return out;
}

/** Lines whose second ended within (from, to], epoch ms. */
export function linesIn(lines: ProbeLine[], from: number, to: number): ProbeLine[] {
  return lines.filter((l) => l.t > from && l.t <= to);
}

/** Summarizes a window's lines; undefined when there are none. */
export function loopFigures(lines: ProbeLine[]): LoopFigures | undefined {
  if (lines.length === 0) return undefined;
  const d = (v: number): number => Math.max(0, v - LOOP_RESOLUTION_MS);
  const p50s = lines.map((l) => l.p50).sort((a, b) => a - b);
  return {
    seconds: lines.length,
    p50: d(p50s[Math.floor((p50s.length - 1) / 2)] as number),
    worstP99: d(Math.max(...lines.map((l) => l.p99))),
    max: d(Math.max(...lines.map((l) => l.max))),
    heapPeak: Math.max(...lines.map((l) => l.heapUsed)),
    gcPct: lines.every((l) => l.gcMs !== undefined) ? (lines.reduce((a, l) => a + (l.gcMs ?? 0), 0) / (lines.length * 1000)) * 100 : undefined,
    gcMaxMs: lines.every((l) => l.gcMaxMs !== undefined) ? Math.max(...lines.map((l) => l.gcMaxMs ?? 0)) : undefined,
  };
}
