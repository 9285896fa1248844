import { parseArgs } from 'node:util';

/** The benchmark modes, in the order they run when several are selected. */
export const MODES = ['throughput', 'latency', 'delays', 'backlog'] as const;
/** One benchmark mode. */
export type Mode = (typeof MODES)[number];
/** How events are handled in the bench stack (`--events`). */
export const EVENTS_SETTINGS = ['outbox', 'kafka', 'off'] as const;
export type EventsSetting = (typeof EVENTS_SETTINGS)[number];

/** Parsed command line of `npm run bench -- …`; defaults are filled in. */
export interface BenchOptions {
  /** Selected modes (`--mode a,b`), in {@link MODES} order. Default `['throughput']`. */
  modes: Mode[];
  /** `--tasks`: tasks of the throughput mode. Default 20,000. */
  tasks: number;
  /** `--batch`: tasks per SubmitTasks call; default 500 (throughput) and 1,000 (backlog). */
  batch: number | undefined;
  /** `--concurrency`: concurrent submitters of the throughput and backlog modes. Default 4. */
  concurrency: number;
  /**
   * `--rate`: tasks per second of the latency mode. Default 2,500. `half` means half
   * the end-to-end rate the throughput mode measured in the same run.
   */
  rate: number | 'half';
  /** `--seconds`: duration of the latency mode's submissions. Default 20. */
  seconds: number;
  /** `--warmup`: tasks run before the throughput and latency modes measure, and left out of their figures. Default 2,000. */
  warmup: number;
  /** `--backlog`: tasks of the backlog mode. Default 1,000,000. */
  backlog: number;
  /** `--slots`: slots of each worker. Default 64. */
  slots: number;
  /** `--timeout`: seconds a mode may take before it fails. Default 1,800. */
  timeoutSec: number;
  /** `--json FILE`: where to write the figures as JSON, if set. */
  json: string | undefined;
  /**
   * `--events`: `outbox` (default: event rows written, no relay), `kafka` (also the
   * scheduler's relay to a bench Kafka), `off` (the event triggers on tasks disabled:
   * the cost of neither).
   */
  events: EventsSetting;
  /** `--help` was given. */
  help: boolean;
}

/** The usage text printed by `--help`. */
export const USAGE = `usage: npm run bench -- [options]
  --mode M[,M…]      ${MODES.join(' | ')} (default throughput)
  --tasks N          throughput, delays: tasks to submit (default 20000)
  --batch B          tasks per SubmitTasks call (default 500; backlog 1000)
  --concurrency C    concurrent submitters (default 4)
  --rate R|half      latency: tasks per second (default 2500); half: half of the
                     end-to-end rate measured by the throughput mode in this run
  --seconds S        latency: seconds of submissions (default 20)
  --warmup W         throughput, latency: tasks run first and not measured (default 2000; 0: none)
  --backlog N        backlog: tasks queued before workers start (default 1000000)
  --slots K          slots per worker; 2 workers (default 64)
  --timeout T        seconds a mode may take before it fails (default 1800)
  --json FILE        also write the figures as JSON to FILE
  --events E         outbox (default): event rows only | kafka: also relayed to a bench
                     Kafka | off: the tasks' event triggers disabled`;

/**
 * Parses `argv` (the arguments after the script). Throws an Error naming the flag
 * and the rule it broke for unknown flags, bad modes and non-positive numbers.
 */
export function parseBenchArgs(argv: string[]): BenchOptions {
  const str = { type: 'string' } as const;
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      mode: str, tasks: str, batch: str, concurrency: str, rate: str, seconds: str, warmup: str, backlog: str, slots: str,
      timeout: str, json: str, events: str, help: { type: 'boolean' },
    },
  });
  return {
    modes: parseModes(values.mode ?? 'throughput'),
    tasks: positiveInt('--tasks', values.tasks, 20_000),
    batch: values.batch === undefined ? undefined : positiveInt('--batch', values.batch, 0, 10_000),
    concurrency: positiveInt('--concurrency', values.concurrency, 4, 256),
    rate: parseRate(values.rate, values.mode ?? 'throughput'),
    seconds: positiveInt('--seconds', values.seconds, 20),
    warmup: values.warmup === '0' ? 0 : positiveInt('--warmup', values.warmup, 2_000),
    backlog: positiveInt('--backlog', values.backlog, 1_000_000),
    slots: positiveInt('--slots', values.slots, 64, 10_000),
    timeoutSec: positiveInt('--timeout', values.timeout, 1_800),
    json: values.json,
    events: parseEvents(values.events ?? 'outbox'),
    help: values.help ?? false,
  };
}

function parseEvents(text: string): EventsSetting {
  if (!(EVENTS_SETTINGS as readonly string[]).includes(text)) throw new Error(`--events: unknown setting "${text}" (expected ${EVENTS_SETTINGS.join(', ')})`);
  return text as EventsSetting;
}

function parseModes(text: string): Mode[] {
  const asked = text.split(',').map((m) => m.trim()).filter(Boolean);
  for (const m of asked) {
    if (!(MODES as readonly string[]).includes(m)) throw new Error(`--mode: unknown mode "${m}" (expected ${MODES.join(', ')})`);
  }
  if (asked.length === 0) throw new Error('--mode: must name at least one mode');
  return MODES.filter((m) => asked.includes(m));
}

function parseRate(text: string | undefined, modes: string): number | 'half' {
  if (text !== 'half') return positiveInt('--rate', text, 2_500);
  if (!parseModes(modes).includes('throughput')) throw new Error('--rate: "half" needs the throughput mode in --mode');
  return 'half';
}

function positiveInt(flag: string, text: string | undefined, def: number, max = Number.MAX_SAFE_INTEGER): number {
  if (text === undefined) return def;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${flag}: must be an integer from 1 to ${max}, got "${text}"`);
  return n;
}
