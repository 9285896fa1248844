import { parseArgs } from 'node:util';

/** Parsed command line of `npm run chaos -- …`, defaults filled in. */
export interface ChaosOptions {
  /** `--seconds`: how long faults are injected. Default 120. */
  seconds: number;
  /** `--faults`: the least number of faults; the fault phase runs on past `seconds` until it is reached. Default 12. */
  faults: number;
  /** `--seed`: seeds the fault schedule and the task mix. Default: random (printed). */
  seed: number;
  /** `--rate`: tasks submitted per second. Default 25. */
  rate: number;
  /** `--drain`: seconds to wait, after the last fault, for every task to end. Default 120. */
  drainSeconds: number;
  /** `--json FILE`: also write the result as JSON. */
  json: string | undefined;
  /** `--help` was given. */
  help: boolean;
}

/** The usage text of `--help`. */
export const USAGE = `usage: npm run chaos -- [options]
  --seconds S   seconds of fault injection (default 120)
  --faults N    at least N faults; runs past --seconds until reached (default 12)
  --seed X      seed of the fault schedule and task mix (default random, printed)
  --rate R      tasks submitted per second, round-robin over both apiservers (default 25)
  --drain D     seconds to wait for every task to end after the faults (default 120)
  --json FILE   also write the result as JSON to FILE`;

/**
 * Parses `argv` (the arguments after the script); `randomSeed` supplies the seed when
 * `--seed` is absent. Throws an Error naming the flag and the rule it broke.
 */
export function parseChaosArgs(argv: string[], randomSeed: () => number = () => Math.floor(Math.random() * 2 ** 31)): ChaosOptions {
  const str = { type: 'string' } as const;
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: { seconds: str, faults: str, seed: str, rate: str, drain: str, json: str, help: { type: 'boolean' } },
  });
  return {
    seconds: intFlag('--seconds', values.seconds, 120, 1),
    faults: intFlag('--faults', values.faults, 12, 0),
    seed: values.seed === undefined ? randomSeed() : intFlag('--seed', values.seed, 0, 0, 2 ** 32 - 1),
    rate: intFlag('--rate', values.rate, 25, 1, 1_000),
    drainSeconds: intFlag('--drain', values.drain, 120, 1),
    json: values.json,
    help: values.help ?? false,
  };
}

function intFlag(flag: string, text: string | undefined, def: number, min: number, max = 1_000_000): number {
  if (text === undefined) return def;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag}: must be an integer from ${min} to ${max}, got "${text}"`);
  return n;
}
