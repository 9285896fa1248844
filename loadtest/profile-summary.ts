import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

/** A V8 `.cpuprofile` (what `Profiler.stop` returns). */
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where a profile's time went. */
export interface ProfileSummary {
  file: string;
  /** Wall time the profile covers, ms. */
  wallMs: number;
  /** Sampled time not idle (not `(idle)`, not the profiler's own), ms: about the CPU time of the main thread. */
  busyMs: number;
  /** Self time by area (see {@link areaOf}), ms, largest first. */
  areas: { area: string; ms: number }[];
  /**
   * Time by owner: each sample goes to the nearest frame on its stack that belongs to a
   * dependency or to taskd, so Node internals and native calls (socket writes, HTTP/2
   * framing) count for the library that made them. Samples with no such frame are
   * Node's own I/O callbacks (reading sockets, HTTP/2 session handling) and V8 work.
   */
  owners: { owner: string; ms: number }[];
  /** Functions with the most self time. */
  topSelf: { fn: string; ms: number }[];
  /** taskd functions (internal/, cmd/) with the most inclusive time. */
  topTaskd: { fn: string; ms: number }[];
}

/**
 * The area a frame belongs to, from its script URL: V8's pseudo-frames, Node's
 * internals by module (http2, net, streams, timers…), dependencies by package, taskd
 * by directory.
 */
export function areaOf(f: CallFrame): string {
  const { url, functionName } = f;
  if (url === '') {
    if (functionName.startsWith('(')) return functionName; // (idle), (program), (garbage collector)
    return 'native';
  }
  const nodeMod = /^node:(?:internal\/)?([a-z_0-9]+)/.exec(url);
  if (nodeMod) return `node:${nodeMod[1]}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  const own = /\/(internal\/[^/]+|cmd\/[^/]+|gen|test|bench|loadtest)\//.exec(url);
  if (own) return `taskd ${own[1]}`;
  return 'other';
}

function label(f: CallFrame): string {
  const file = f.url.replace(/^.*\/(node_modules\/|internal\/|cmd\/|gen\/)/, '$1').replace(/^file:\/\//, '');
  // tsx-compiled taskd files carry no useful line numbers without source maps.
  const line = /^(internal|cmd|gen)\//.test(file) || file === '' ? '' : `:${f.lineNumber + 1}`;
  return `${f.functionName || '(anonymous)'} ${file}${line}`.trim();
}

/** The profiler's own frames (Profiler.stop serializing the profile). */
const isProfiler = (f: CallFrame): boolean => f.url.startsWith('node:inspector');

const isOwner = (area: string): boolean => !area.startsWith('node:') && !area.startsWith('(') && area !== 'native' && area !== 'other';

/** Reads a `.cpuprofile` and summarizes it (top `top` entries per list). */
export function summarizeProfile(file: string, top = 12): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000));

  const areas = new Map<string, number>();
  const owners = new Map<string, number>();
  const selfFn = new Map<string, number>();
  const inclTaskd = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, ms] of self) {
    const n = byId.get(id);
    if (!n) continue;
    let profiler = false;
    let owner: string | undefined;
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)?.callFrame;
      if (!f) continue;
      if (isProfiler(f)) profiler = true;
      if (owner === undefined && isOwner(areaOf(f))) owner = areaOf(f);
    }
    if (profiler) continue;
    total += ms;
    if (n.callFrame.functionName === '(idle)') idle += ms;
    const area = areaOf(n.callFrame);
    areas.set(area, (areas.get(area) ?? 0) + ms);
    const who = owner ?? (area.startsWith('(') ? area : 'node I/O callbacks (socket reads, HTTP/2 sessions, timers)');
    owners.set(who, (owners.get(who) ?? 0) + ms);
    const l = label(n.callFrame);
    selfFn.set(l, (selfFn.get(l) ?? 0) + ms);
    // Inclusive time of taskd frames: each distinct taskd function on the stack once.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)?.callFrame;
      if (!f || !/\/(internal|cmd)\//.test(f.url) || /\/internal\/shared\/(sleep|async-queue)/.test(f.url)) continue;
      const fl = label(f);
      if (seen.has(fl)) continue;
      seen.add(fl);
      inclTaskd.set(fl, (inclTaskd.get(fl) ?? 0) + ms);
    }
  }
  const sorted = (m: Map<string, number>): [string, number][] => [...m].sort((a, b) => b[1] - a[1]);
  return {
    file,
    wallMs: (p.endTime - p.startTime) / 1000,
    busyMs: total - idle,
    areas: sorted(areas).filter(([a]) => a !== '(idle)').slice(0, top).map(([area, ms]) => ({ area, ms })),
    owners: sorted(owners).filter(([a]) => a !== '(idle)').slice(0, top).map(([owner, ms]) => ({ owner, ms })),
    topSelf: sorted(selfFn).filter(([f]) => !f.startsWith('(idle)')).slice(0, top).map(([fn, ms]) => ({ fn, ms })),
    topTaskd: sorted(inclTaskd).slice(0, top).map(([fn, ms]) => ({ fn, ms })),
  };
}

interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

/** What a sampling heap profile says holds memory. */
export interface HeapSummary {
  file: string;
  /** Sampled live bytes allocated while sampling ran (an estimate; sampling interval 16 KiB). */
  totalBytes: number;
  /** The same, per stream. */
  perStreamBytes: number;
  /** Live bytes by owner: the nearest library or taskd frame of the allocating stack. */
  owners: { owner: string; bytes: number }[];
  /** Allocating functions (with their nearest owner) holding the most. */
  top: { fn: string; bytes: number }[];
}

/** Reads a `.heapprofile` (HeapProfiler.stopSampling) and summarizes it per `streams`. */
export function summarizeHeapProfile(file: string, streams: number, top = 12): HeapSummary {
  const head = (JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode }).head;
  const owners = new Map<string, number>();
  const fns = new Map<string, number>();
  let total = 0;
  const walk = (n: HeapNode, stack: CallFrame[]): void => {
    const here = [...stack, n.callFrame];
    // The probe's own allocations (the CPU profiler's data) are not taskd's.
    if (isProfiler(n.callFrame) || n.callFrame.url.includes('/loadtest/')) return;
    if (n.selfSize > 0) {
      total += n.selfSize;
      let owner: string | undefined;
      for (let i = here.length - 1; i >= 0 && owner === undefined; i--) {
        const a = areaOf(here[i] as CallFrame);
        if (isOwner(a)) owner = a;
      }
      const o = owner ?? areaOf(n.callFrame);
      owners.set(o, (owners.get(o) ?? 0) + n.selfSize);
      const l = `${label(n.callFrame)} [${o}]`;
      fns.set(l, (fns.get(l) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c, here);
  };
  walk(head, []);
  const sorted = (m: Map<string, number>): [string, number][] => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  return {
    file, totalBytes: total, perStreamBytes: total / Math.max(1, streams),
    owners: sorted(owners).map(([owner, bytes]) => ({ owner, bytes })),
    top: sorted(fns).map(([fn, bytes]) => ({ fn, bytes })),
  };
}
