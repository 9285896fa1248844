import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import type { Logger } from '../shared/logger.js';
import { Kicker } from '../shared/kicker.js';
import { aborted } from '../shared/sleep.js';
import { configFileKey, configSchema, LIVE_SETTINGS, loadConfig, type Config } from './config.js';
import { unreadable, type ConfigText } from './config-input.js';

/** Applies changed live settings to a running process; gets the configuration now in effect. */
export type ApplySettings = (config: Config) => void;

/** Who applies which live setting; one function may apply several (it runs once per reload). */
export type LiveHandlers = Partial<Record<keyof Config, ApplySettings>>;

/** A changed file was loaded: what it changed, by the file's names. */
export interface ReloadedEvent {
  /** Live settings now in effect. */
  applied: string[];
  /** Settings that changed in the file but take effect after a restart. */
  restartNeeded: string[];
}

/** A changed file was refused: the message names the bad setting where it was written. */
export interface RejectedEvent {
  error: string;
}

/** Events of {@link ConfigWatcher}. */
export interface ConfigWatcherEvents {
  reloaded: [ReloadedEvent];
  rejected: [RejectedEvent];
}

/** What one pass did. */
export type ReloadOutcome = { kind: 'unchanged' } | ({ kind: 'reloaded' } & ReloadedEvent) | ({ kind: 'rejected' } & RejectedEvent);

/** Options of {@link ConfigWatcher}. */
export interface ConfigWatcherOptions {
  /** The environment the process started with; its TASKD_CONFIG_FILE names the file watched. */
  env: NodeJS.ProcessEnv;
  /** The process's own defaults, as given to loadConfig at start. */
  defaults?: Record<string, string>;
  /** The configuration the process started with. */
  config: Config;
  /** Handlers of the live settings this process uses; a live setting without one changes nothing here. */
  apply: LiveHandlers;
  /** How often the file is read and compared; default 1 000 ms. */
  pollMs?: number;
  /** Reload at once on SIGHUP (the processes do; tests in-process do not). Default false. */
  sighup?: boolean;
}

/**
 * Watches the config file (TASKD_CONFIG_FILE) of a running process. Every `pollMs` it
 * reads the file and compares the text with the last loaded (so a Kubernetes ConfigMap
 * swapped by symlink is seen, which fs.watch misses); a change is loaded once two reads
 * in a row agree on it, so a file caught half-written is never loaded. SIGHUP loads the
 * file at once. A changed file is loaded with the environment exactly as at start (one schema, the same checks):
 * when valid, changed live settings (LIVE_SETTINGS) go to their handlers and other
 * changes are logged as taking effect after a restart; when not, the error naming the
 * setting is logged and the running configuration stays. Emits 'reloaded' and
 * 'rejected'. Without a file there is nothing to watch: `run` waits for its signal.
 */
export class ConfigWatcher extends EventEmitter<ConfigWatcherEvents> {
  private readonly kicker = new Kicker();
  private running: Config;
  /** The text last loaded (or why it could not be read); undefined before the first load. */
  private seen: string | undefined;
  /** A changed text read once: loaded when the next read finds it again. */
  private settling: string | undefined;
  private forced = false;

  constructor(private readonly base: { logger: Logger }, private readonly opts: ConfigWatcherOptions) {
    super();
    if (opts.pollMs !== undefined && !(opts.pollMs > 0)) throw new Error(`ConfigWatcher: pollMs must be positive, got ${opts.pollMs}`);
    this.running = opts.config;
  }

  /** The configuration in effect: as at start, with every live change applied since. */
  get config(): Config {
    return this.running;
  }

  /** Reads the file at once (what SIGHUP does), even if it did not change. */
  reload(): void {
    this.forced = true;
    this.kicker.kick();
  }

  /** Watches until `signal` aborts; settles then. Never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    const path = this.opts.env.TASKD_CONFIG_FILE;
    const onHup = (): void => {
      this.base.logger.info({ file: path ?? null }, path ? 'SIGHUP: reloading the config file' : 'SIGHUP: no config file (TASKD_CONFIG_FILE) to reload');
      this.reload();
    };
    if (this.opts.sighup) process.on('SIGHUP', onHup);
    try {
      if (!path) return await aborted(signal);
      while (!signal.aborted) {
        await this.runOnce();
        await this.kicker.wait(this.opts.pollMs ?? 1_000, signal);
      }
    } finally {
      if (this.opts.sighup) process.off('SIGHUP', onHup);
    }
  }

  /**
   * One pass: reads the file and, if it changed and the last pass read the same (or a
   * reload was asked for), loads and applies it. Never throws.
   */
  async runOnce(): Promise<ReloadOutcome> {
    const path = this.opts.env.TASKD_CONFIG_FILE;
    if (!path) return { kind: 'unchanged' };
    // Taken before the read: a reload asked for while this pass reads is the next pass's.
    const forced = this.forced;
    this.forced = false;
    const read = await readText(path);
    const text = 'text' in read ? read.text : `\0${read.problem}`;
    const first = this.seen === undefined;
    if (!forced) {
      if (text === this.seen) return { kind: 'unchanged' };
      // A file being written may be read half-written (empty, truncated): a change counts
      // once two reads agree. SIGHUP means the writer is done and loads at once.
      const settled = text === this.settling;
      this.settling = text;
      if (!settled) return { kind: 'unchanged' };
    }
    this.seen = text;
    this.settling = undefined;
    let next: Config;
    try {
      next = loadConfig(this.opts.env, { defaults: this.opts.defaults, fileText: read });
    } catch (e) {
      const error = (e as Error).message;
      this.base.logger.error({ file: path, error }, 'config reload rejected; the running configuration stays');
      this.emit('rejected', { error });
      return { kind: 'rejected', error };
    }
    const changes = this.apply(next);
    // The first read only confirms what the process started with.
    if (first && !forced && changes.applied.length === 0 && changes.restartNeeded.length === 0) return { kind: 'unchanged' };
    this.base.logger.info({ file: path, ...changes }, 'config reloaded');
    if (changes.restartNeeded.length > 0) {
      this.base.logger.warn({ file: path, settings: changes.restartNeeded }, 'changed settings take effect after a restart');
    }
    this.emit('reloaded', changes);
    return { kind: 'reloaded', ...changes };
  }

  private apply(next: Config): ReloadedEvent {
    const applied: string[] = [];
    const restartNeeded: string[] = [];
    const live: Partial<Config> = {};
    const handlers = new Set<ApplySettings>();
    for (const key of Object.keys(configSchema.shape) as (keyof Config)[]) {
      if (JSON.stringify(next[key]) === JSON.stringify(this.running[key])) continue;
      if (!LIVE_SETTINGS.includes(key)) {
        restartNeeded.push(configFileKey(key));
        continue;
      }
      applied.push(configFileKey(key));
      Object.assign(live, { [key]: next[key] });
      const handler = this.opts.apply[key];
      if (handler) handlers.add(handler);
    }
    this.running = { ...this.running, ...live };
    for (const handler of handlers) {
      try {
        handler(this.running);
      } catch (e) {
        this.base.logger.error({ err: (e as Error).message }, 'applying a reloaded setting failed');
      }
    }
    return { applied, restartNeeded };
  }
}

async function readText(path: string): Promise<ConfigText> {
  try {
    return { text: await readFile(path, 'utf8') };
  } catch (e) {
    return unreadable(path, e);
  }
}
