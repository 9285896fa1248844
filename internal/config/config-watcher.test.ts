import { once } from 'node:events';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from './config.js';
import { ConfigWatcher, type ConfigWatcherOptions, type ReloadedEvent } from './config-watcher.js';

let dir: string;
let stop: AbortController;
let running: Promise<void>[];
let logs: Record<string, unknown>[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'taskd-config-watcher-'));
  stop = new AbortController();
  running = [];
  logs = [];
});
afterEach(async () => {
  stop.abort();
  await Promise.all(running);
  rmSync(dir, { recursive: true, force: true });
});

/** A watcher of `file` started with what the file and `env` say now, polling every 10 ms. */
function watch(file: string, env: Record<string, string> = {}, opts: Partial<ConfigWatcherOptions> = {}): ConfigWatcher {
  const fullEnv = { TASKD_CONFIG_FILE: file, ...env };
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const w = new ConfigWatcher({ logger }, { env: fullEnv, config: loadConfig(fullEnv), apply: {}, pollMs: 10, ...opts });
  running.push(w.run(stop.signal));
  return w;
}

const reloaded = (w: ConfigWatcher): Promise<ReloadedEvent> => once(w, 'reloaded').then(([e]) => e as ReloadedEvent);
const rejected = (w: ConfigWatcher): Promise<string> => once(w, 'rejected').then(([e]) => (e as { error: string }).error);

describe('ConfigWatcher', () => {
  it('applies changed live settings through their handlers, once per handler, and keeps the rest as at start', async () => {
    const file = join(dir, 'taskd.yaml');
    writeFileSync(file, 'log_level: info\nworker_slots: 2\nsubmit_rate: 0\n');
    const calls: Config[] = [];
    const limits = (c: Config): void => void calls.push(c);
    const levels: string[] = [];
    const w = watch(file, {}, {
      apply: { TASKD_SUBMIT_RATE: limits, TASKD_SUBMIT_BURST: limits, TASKD_LOG_LEVEL: (c) => void levels.push(c.TASKD_LOG_LEVEL) },
    });

    const next = reloaded(w);
    writeFileSync(file, 'log_level: debug\nworker_slots: 8\nsubmit_rate: 5\nsubmit_burst: 10\n');
    expect(await next).toEqual({ applied: ['log_level', 'worker_slots', 'submit_rate', 'submit_burst'], restartNeeded: [] });
    expect(levels).toEqual(['debug']);
    expect(calls.map((c) => [c.TASKD_SUBMIT_RATE, c.TASKD_SUBMIT_BURST])).toEqual([[5, 10]]);
    expect(w.config).toMatchObject({ TASKD_LOG_LEVEL: 'debug', TASKD_WORKER_SLOTS: 8, TASKD_SUBMIT_RATE: 5 });
    expect(logs.find((l) => l.msg === 'config reloaded')).toMatchObject({ file, applied: ['log_level', 'worker_slots', 'submit_rate', 'submit_burst'] });
  });

  it('names changed settings that need a restart in a warning and keeps running with their old values', async () => {
    const file = join(dir, 'taskd.yaml');
    writeFileSync(file, 'worker_queues: [default]\n');
    const w = watch(file);
    const next = reloaded(w);
    writeFileSync(file, 'worker_queues: [default, mail]\nlog_level: warn\n');
    expect(await next).toEqual({ applied: ['log_level'], restartNeeded: ['worker_queues'] });
    expect(w.config.TASKD_WORKER_QUEUES).toEqual(['default']);
    expect(logs.find((l) => l.msg === 'changed settings take effect after a restart')).toMatchObject({ level: 40, settings: ['worker_queues'] });
  });

  it('refuses a file with a typo or a wrong type, naming the key and line, keeps the running config, and loads the fixed file', async () => {
    const file = join(dir, 'taskd.yaml');
    writeFileSync(file, 'worker_slots: 2\n');
    const w = watch(file);

    let next = rejected(w);
    writeFileSync(file, 'worker_slots: 2\nlog_levl: debug\n');
    expect(await next).toBe(`invalid configuration: ${file}:2: unknown setting "log_levl" (did you mean "log_level"?)`);
    next = rejected(w);
    writeFileSync(file, 'worker_slots: lots\n');
    expect(await next).toBe(`invalid configuration: ${file}:1: worker_slots: expected a number, got "lots"`);
    expect(w.config.TASKD_WORKER_SLOTS).toBe(2);
    expect(logs.filter((l) => l.msg === 'config reload rejected; the running configuration stays')).toHaveLength(2);

    const fixed = reloaded(w);
    writeFileSync(file, 'worker_slots: 3\n');
    expect(await fixed).toEqual({ applied: ['worker_slots'], restartNeeded: [] });
  });

  it('sees a Kubernetes ConfigMap update: the ..data symlink swapped to a new directory', async () => {
    mkdirSync(join(dir, '..v1'));
    writeFileSync(join(dir, '..v1', 'taskd.yaml'), 'worker_slots: 2\n');
    symlinkSync('..v1', join(dir, '..data'));
    symlinkSync('..data/taskd.yaml', join(dir, 'taskd.yaml'));
    const w = watch(join(dir, 'taskd.yaml'));

    const next = reloaded(w);
    mkdirSync(join(dir, '..v2'));
    writeFileSync(join(dir, '..v2', 'taskd.yaml'), 'worker_slots: 6\n');
    symlinkSync('..v2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    expect(await next).toEqual({ applied: ['worker_slots'], restartNeeded: [] });
    expect(w.config.TASKD_WORKER_SLOTS).toBe(6);
  });

  it('the environment still overrides the file on reload; a vanished file is refused naming its path', async () => {
    const file = join(dir, 'taskd.yaml');
    writeFileSync(file, 'worker_slots: 2\n');
    const w = watch(file, { TASKD_WORKER_SLOTS: '4' });
    expect(w.config.TASKD_WORKER_SLOTS).toBe(4);
    const next = reloaded(w);
    writeFileSync(file, 'worker_slots: 9\nlog_level: error\n');
    expect(await next).toEqual({ applied: ['log_level'], restartNeeded: [] });
    expect(w.config.TASKD_WORKER_SLOTS).toBe(4);

    const gone = rejected(w);
    rmSync(file);
    expect(await gone).toBe(`invalid configuration: TASKD_CONFIG_FILE: cannot read "${file}" (no such file)`);
  });

  it('a reload asked for while a pass reads the file is the next pass\'s, not lost in it', async () => {
    const file = join(dir, 'taskd.yaml');
    writeFileSync(file, 'worker_slots: 2\n');
    const env = { TASKD_CONFIG_FILE: file };
    const w = new ConfigWatcher({ logger: pino({ level: 'silent' }) }, { env, config: loadConfig(env), apply: {} });
    const pass = w.runOnce();
    w.reload();
    expect(await pass).toEqual({ kind: 'unchanged' });
    expect(await w.runOnce()).toEqual({ kind: 'reloaded', applied: [], restartNeeded: [] });
    expect(await w.runOnce()).toEqual({ kind: 'unchanged' });
  });

  it('SIGHUP reads the file at once, changed or not; run settles when stopped, with or without a file', async () => {
    const file = join(dir, 'taskd.yaml');
    writeFileSync(file, 'worker_slots: 2\n');
    const w = watch(file, {}, { pollMs: 60_000, sighup: true });
    // The first pass reads the file as the process started with it: nothing to report.
    expect(await w.runOnce()).toEqual({ kind: 'unchanged' });
    const next = reloaded(w);
    process.emit('SIGHUP', 'SIGHUP');
    expect(await next).toEqual({ applied: [], restartNeeded: [] });

    const listeners = process.listenerCount('SIGHUP');
    const noFile = new ConfigWatcher({ logger: pino({ level: 'silent' }) }, { env: {}, config: loadConfig({}), apply: {}, sighup: true });
    const ctl = new AbortController();
    const done = noFile.run(ctl.signal);
    process.emit('SIGHUP', 'SIGHUP');
    ctl.abort();
    await done;
    expect(process.listenerCount('SIGHUP')).toBe(listeners);
  });
});
