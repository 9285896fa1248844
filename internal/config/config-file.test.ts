import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LIVE_SETTINGS, loadConfig } from './config.js';
import { didYouMean } from './did-you-mean.js';

const dir = mkdtempSync(join(tmpdir(), 'taskd-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** Writes `text` to a new file and loads it with `env` over it. */
function load(text: string, env: Record<string, string> = {}, defaults?: Record<string, string>) {
  const file = join(dir, `taskd-${n++}.yaml`);
  writeFileSync(file, text);
  return { file, load: () => loadConfig({ TASKD_CONFIG_FILE: file, ...env }, { defaults }) };
}

describe('loadConfig with a config file (TASKD_CONFIG_FILE)', () => {
  it('reads lower-case keys, YAML lists or comma strings for lists, numbers as numbers or strings', () => {
    const c = load(
      '# a comment\nlog_level: debug\nworker_slots: 8\nscheduler_addrs: [http://a:8080, http://b:8080]\n' +
        'worker_queues: "mail, sms"\nsubmit_rate: "0.5"\nkafka_brokers:\n  - k1:9092\n  - k2:9092\nredis_prefix: 0123\n',
    ).load();
    expect(c).toMatchObject({
      TASKD_LOG_LEVEL: 'debug', TASKD_WORKER_SLOTS: 8, TASKD_SCHEDULER_ADDRS: ['http://a:8080', 'http://b:8080'],
      TASKD_WORKER_QUEUES: ['mail', 'sms'], TASKD_SUBMIT_RATE: 0.5, TASKD_KAFKA_BROKERS: ['k1:9092', 'k2:9092'],
      // Scalars are text, as in the environment: YAML does not turn 0123 into 123.
      TASKD_REDIS_PREFIX: '0123',
    });
    expect(load('').load().TASKD_WORKER_SLOTS).toBe(4);
    expect(load('# only comments\n').load().TASKD_WORKER_SLOTS).toBe(4);
  });

  it('the environment overrides the file key by key; the file overrides a process default', () => {
    const { load: l } = load('worker_slots: 8\nlog_level: debug\nlock_ttl_ms: 9000\n', { TASKD_WORKER_SLOTS: '2' }, { TASKD_LOCK_TTL_MS: '3000', TASKD_POLL_MS: '250' });
    expect(l()).toMatchObject({ TASKD_WORKER_SLOTS: 2, TASKD_LOG_LEVEL: 'debug', TASKD_LOCK_TTL_MS: 9000, TASKD_POLL_MS: 250 });
  });

  it('refuses an unknown key, naming the file, the line and the closest setting', () => {
    const { file, load: l } = load('log_level: debug\n\nworker_slot: 8\n');
    expect(l).toThrow(`invalid configuration: ${file}:3: unknown setting "worker_slot" (did you mean "worker_slots"?)`);
    const upper = load('WORKER_SLOTS: 8\ntaskd_log_level: info\nwhatever: 1\n');
    expect(upper.load).toThrow(
      `${upper.file}:1: unknown setting "WORKER_SLOTS" (did you mean "worker_slots"?); ` +
        `${upper.file}:2: unknown setting "taskd_log_level" (did you mean "log_level"?); ${upper.file}:3: unknown setting "whatever"`,
    );
  });

  it('refuses a wrong type naming the key as written, where, the rule and the value received', () => {
    const f = load('log_level: info\nworker_slots: many\n');
    expect(f.load).toThrow(`invalid configuration: ${f.file}:2: worker_slots: expected a number, got "many"`);
    const env = load('worker_slots: 8\n', { TASKD_WORKER_SLOTS: 'lots' });
    expect(env.load).toThrow('invalid configuration: TASKD_WORKER_SLOTS: expected a number, got "lots"');
    const rules = load('database_pool: 1.5\nlock_ttl_ms: 0\nwatch_buffer: 99999999\nlog_level: loud\n');
    expect(rules.load).toThrow(
      `${rules.file}:4: log_level: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"; ` +
        `${rules.file}:1: database_pool: expected a whole number, got "1.5"; ${rules.file}:2: lock_ttl_ms: must be greater than 0, got "0"; ` +
        `${rules.file}:3: watch_buffer: must be at most 1000000, got "99999999"`,
    );
  });

  it('never echoes a secret it refuses', () => {
    const f = load('auth_hs256_secret: hunter2\n');
    expect(f.load).toThrow(`${f.file}:1: auth_hs256_secret: must be at least 32 characters`);
    expect(f.load).not.toThrow(/hunter2/);
    expect(() => loadConfig({ TASKD_NOTIFIER_WEBHOOK_SECRET: 'hunter2' })).not.toThrow(/hunter2/);
  });

  it('refuses values of the wrong shape: a list for a single value, a mapping, nothing', () => {
    const f = load('worker_slots: [1, 2]\nworker_id:\nlabels: {a: 1}\nworker_queues: [a, [b]]\n');
    expect(f.load).toThrow(
      `${f.file}:1: worker_slots: expected a single value, got a list; ` +
        `${f.file}:2: worker_id: has no value (leave the line out for the default); ${f.file}:3: unknown setting "labels"; ` +
        `${f.file}:4: worker_queues: expected a list of values, got an item that is a list`,
    );
    const m = load('worker_id: {a: 1}\n');
    expect(m.load).toThrow(`${m.file}:1: worker_id: expected a value, got a mapping`);
    const top = load('- worker_slots: 1\n');
    expect(top.load).toThrow(`${top.file}: expected a mapping of settings (name: value), got a list`);
  });

  it('refuses YAML syntax errors and duplicate keys with their line, and a missing file naming its path', () => {
    const syntax = load('log_level: info\nscheduler_addrs: [http://a:8080,\nworker_slots: 2\n');
    expect(syntax.load).toThrow(new RegExp(`^invalid configuration: ${syntax.file}:3: Flow sequence in block collection must be sufficiently indented`));
    const dup = load('worker_slots: 1\nlog_level: info\nworker_slots: 2\n');
    expect(dup.load).toThrow(`invalid configuration: ${dup.file}:3: Map keys must be unique`);
    expect(() => loadConfig({ TASKD_CONFIG_FILE: join(dir, 'nope.yaml') })).toThrow(`invalid configuration: TASKD_CONFIG_FILE: cannot read "${join(dir, 'nope.yaml')}" (no such file)`);
    expect(() => loadConfig({ TASKD_CONFIG_FILE: dir })).toThrow(`TASKD_CONFIG_FILE: cannot read "${dir}" (it is a directory)`);
  });

  it('the cross-field checks still fire, naming the keys where they were written', () => {
    const f = load('lock_ttl_ms: 1000\nlock_renew_ms: 500\n');
    expect(f.load).toThrow(`invalid configuration: lock_renew_ms (${f.file}:2) must be at most a third of lock_ttl_ms (${f.file}:1)`);
    const mixed = load('heartbeat_ms: 6000\n', { TASKD_LEASE_TTL_MS: '10000' });
    expect(mixed.load).toThrow(`heartbeat_ms (${mixed.file}:1) must be at most half of TASKD_LEASE_TTL_MS`);
    const topics = load('kafka_dead_letters_topic: taskd.events\n');
    expect(topics.load).toThrow(`TASKD_KAFKA_EVENTS_TOPIC and kafka_dead_letters_topic (${topics.file}:1) must differ (both "taskd.events")`);
    const algs = load('auth_jwks_algorithms: [RS256, HS256]\n');
    expect(algs.load).toThrow(`auth_jwks_algorithms (${algs.file}:1): HS256 not allowed`);
  });

  it('an unknown TASKD_* variable is still refused, with the closest setting', () => {
    expect(() => loadConfig({ TASKD_LEASE_TTL: '5' })).toThrow('invalid configuration: unknown setting TASKD_LEASE_TTL (did you mean TASKD_LEASE_TTL_MS?)');
    expect(() => loadConfig({ TASKD_NOTHING_LIKE_IT: '5' })).toThrow(/unknown setting TASKD_NOTHING_LIKE_IT$/);
  });

  it('marks the live settings', () => {
    expect(LIVE_SETTINGS).toEqual(['TASKD_LOG_LEVEL', 'TASKD_WORKER_SLOTS', 'TASKD_SUBMIT_RATE', 'TASKD_SUBMIT_BURST', 'TASKD_MAX_STREAMS_PER_IDENTITY']);
  });
});

describe('didYouMean', () => {
  it('suggests a close name only', () => {
    expect(didYouMean('worker_slot', ['worker_slots', 'worker_id'])).toBe('worker_slots');
    expect(didYouMean('lgo_level', ['log_level'])).toBe('log_level');
    expect(didYouMean('banana', ['log_level', 'worker_slots'])).toBeUndefined();
  });
});
