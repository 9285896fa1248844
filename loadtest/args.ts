import { parseArgs } from 'node:util';

/** How the load client opens its streams. */
export type ClientMode = 'sdk' | 'lean';

/** Parsed command line of `npm run load:streams -- …`; defaults filled in. */
export interface StreamsOptions {
  /** `--streams`: worker streams to open. Default 1,000. */
  streams: number;
  /** `--client`: `sdk` (one SDK `Worker`, so one HTTP/2 connection, per stream) or `lean` (streams multiplexed over `--connections`). Default sdk. */
  client: ClientMode;
  /** `--connections`: HTTP/2 connections of the lean client. Default 10. */
  connections: number;
  /** `--busy-fraction`: share of streams that take `noop` tasks in phase B; the others register a type nobody submits. Default 0.2. */
  busyFraction: number;
  /** `--slots`: slots of each busy stream (idle streams have 1). Default 4. */
  slots: number;
  /** `--rate`: tasks per second submitted through the apiserver in phases B and C. Default 500. */
  rate: number;
  /** `--baseline-seconds`: leader measured with no stream. Default 10. */
  baselineSeconds: number;
  /** `--idle-seconds`: phase A window. Default 30. */
  idleSeconds: number;
  /** `--busy-seconds`: phase B window (after a 5 s warm-up at the rate). Default 30. */
  busySeconds: number;
  /** `--after-seconds`: phase C keeps the load this long after the new leader's first dispatch. Default 10. */
  afterSeconds: number;
  /** `--ramp`: streams opened per second at the start. Default 250. */
  ramp: number;
  /** `--timeout`: seconds any one wait may take before the run fails. Default 90. */
  timeoutSec: number;
  /** `--fast`: the tests' shortened timings (lock TTL 2 s, heartbeat 500 ms, lease TTL 2 s) instead of taskd's defaults. */
  fast: boolean;
  /** `--profile`: CPU-profile the leader in phases A and B and the new leader through the failover. */
  profile: boolean;
  /** `--heap-profile`: sample the leader's heap allocations from before the streams connect to the end of phase A; prints what holds the memory per stream. */
  heapProfile: boolean;
  /** `--keep DIR`: copy the probe files and profiles there. */
  keep: string | undefined;
  /** `--json FILE`. */
  json: string | undefined;
  help: boolean;
}

/** Printed by `--help`. */
export const USAGE = `usage: npm run load:streams -- [options]
  --streams N           worker streams (default 1000)
  --client sdk|lean     sdk: one SDK Worker (own HTTP/2 connection) per stream (default);
                        lean: the same protocol, streams multiplexed over --connections
  --connections K       lean client: HTTP/2 connections (default 10)
  --busy-fraction F     share of streams with noop handlers in phase B (default 0.2)
  --slots K             slots per busy stream (default 4)
  --rate R              tasks/s submitted in phases B and C (default 500)
  --baseline-seconds S  leader with no stream (default 10)
  --idle-seconds S      phase A window (default 30)
  --busy-seconds S      phase B window (default 30)
  --after-seconds S     phase C: load kept after the new leader's first dispatch (default 10)
  --ramp R              streams opened per second at the start (default 250)
  --timeout T           seconds any one wait may take (default 90)
  --fast                test timings (lock TTL 2 s, heartbeat 500 ms) instead of taskd defaults
  --profile             CPU-profile the leader (A, B) and the new leader (C); prints where time goes
  --heap-profile        sample the leader's heap from before the streams connect to the end of A;
                        prints which code holds the memory the streams cost
  --keep DIR            keep probe files and profiles in DIR
  --json FILE           write the figures as JSON`;

/** Parses `argv`; throws an Error naming the flag for unknown flags and bad values. */
export function parseStreamsArgs(argv: string[]): StreamsOptions {
  const str = { type: 'string' } as const;
  const bool = { type: 'boolean' } as const;
  const { values: v } = parseArgs({
    args: argv, strict: true, allowPositionals: false,
    options: {
      streams: str, client: str, connections: str, 'busy-fraction': str, slots: str, rate: str, 'baseline-seconds': str,
      'idle-seconds': str, 'busy-seconds': str, 'after-seconds': str, ramp: str, timeout: str, fast: bool, profile: bool, 'heap-profile': bool,
      keep: str, json: str, help: bool,
    },
  });
  const client = v.client ?? 'sdk';
  if (client !== 'sdk' && client !== 'lean') throw new Error(`--client: expected sdk or lean, got "${client}"`);
  const busyFraction = v['busy-fraction'] === undefined ? 0.2 : Number(v['busy-fraction']);
  if (!(busyFraction > 0 && busyFraction <= 1)) throw new Error(`--busy-fraction: must be in (0, 1], got "${v['busy-fraction']}"`);
  return {
    streams: int('--streams', v.streams, 1_000, 1, 20_000),
    client,
    connections: int('--connections', v.connections, 10, 1, 1_000),
    busyFraction,
    slots: int('--slots', v.slots, 4, 1, 1_000),
    rate: int('--rate', v.rate, 500, 1, 100_000),
    baselineSeconds: int('--baseline-seconds', v['baseline-seconds'], 10, 1, 3_600),
    idleSeconds: int('--idle-seconds', v['idle-seconds'], 30, 1, 3_600),
    busySeconds: int('--busy-seconds', v['busy-seconds'], 30, 1, 3_600),
    afterSeconds: int('--after-seconds', v['after-seconds'], 10, 1, 600),
    ramp: int('--ramp', v.ramp, 250, 1, 100_000),
    timeoutSec: int('--timeout', v.timeout, 90, 5, 3_600),
    fast: v.fast ?? false,
    profile: v.profile ?? false,
    heapProfile: v['heap-profile'] ?? false,
    keep: v.keep,
    json: v.json,
    help: v.help ?? false,
  };
}

function int(flag: string, text: string | undefined, def: number, min: number, max: number): number {
  if (text === undefined) return def;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag}: must be an integer from ${min} to ${max}, got "${text}"`);
  return n;
}
