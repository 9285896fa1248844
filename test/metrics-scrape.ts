/** One sample of a Prometheus text exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A process's scrape: its samples, with sums over label subsets. */
export class Scrape {
  constructor(readonly samples: Sample[]) {}

  /** Every sample name (histograms as `_bucket`, `_sum`, `_count`). */
  names(): Set<string> {
    return new Set(this.samples.map((s) => s.name));
  }

  /** Sum of `name`'s samples whose labels include `match` (0 when none). */
  sum(name: string, match: Record<string, string> = {}): number {
    return this.samples
      .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
      .reduce((n, s) => n + s.value, 0);
  }

  /** Whether any sample of `name` (with `match`) exists. */
  has(name: string, match: Record<string, string> = {}): boolean {
    return this.samples.some((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
  }
}

/** Sums `name` (with `match`) over several scrapes: counters of a role spread over its instances. */
export function total(scrapes: Scrape[], name: string, match: Record<string, string> = {}): number {
  return scrapes.reduce((n, s) => n + s.sum(name, match), 0);
}

/** Parses the Prometheus text format (version 0.0.4) as prom-client writes it. */
export function parseExposition(text: string): Scrape {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1] as string] = (l[2] as string).replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    samples.push({ name: m[1] as string, labels, value: Number(m[4]) });
  }
  return new Scrape(samples);
}

/** GETs http://`addr`/metrics and parses it; throws on a non-200 answer. */
export async function scrape(addr: string): Promise<Scrape> {
  const r = await fetch(`http://${addr}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (!r.ok) throw new Error(`GET http://${addr}/metrics: HTTP ${r.status}`);
  if (!(r.headers.get('content-type') ?? '').startsWith('text/plain')) throw new Error(`GET http://${addr}/metrics: content-type ${r.headers.get('content-type')}`);
  return parseExposition(await r.text());
}
