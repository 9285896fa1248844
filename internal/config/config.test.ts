import { describe, expect, it } from 'vitest';
import { advertiseAddress, authEnabled, loadConfig, parseHostPort, requireAuthBeyondLoopback } from './config.js';

describe('loadConfig', () => {
  it('applies defaults', () => {
    const c = loadConfig({});
    expect(c.TASKD_ADDR).toBe('127.0.0.1:8080');
    expect(c.TASKD_WORKER_QUEUES).toEqual(['default']);
  });
  it('refuses a typo, naming the key', () => {
    expect(() => loadConfig({ TASKD_LEASE_TTL: '5' })).toThrow('unknown setting TASKD_LEASE_TTL');
  });
  it("ignores taskctl's client settings, which a shell may export", () => {
    expect(loadConfig({ TASKD_SERVER: 'http://127.0.0.1:8080', TASKD_TOKEN: 'secret' }).TASKD_ADDR).toBe('127.0.0.1:8080');
  });
  it('refuses a wrong type, naming the key', () => {
    expect(() => loadConfig({ TASKD_WORKER_SLOTS: 'many' })).toThrow(/TASKD_WORKER_SLOTS/);
  });
  it('refuses a renewal interval too close to the lock TTL', () => {
    expect(() => loadConfig({ TASKD_LOCK_TTL_MS: '1000', TASKD_LOCK_RENEW_MS: '500' })).toThrow(/TASKD_LOCK_RENEW_MS/);
  });
  it('refuses to advertise a wildcard address', () => {
    expect(() => advertiseAddress('0.0.0.0:8080', undefined)).toThrow('TASKD_ADVERTISE_ADDR is required');
    expect(advertiseAddress('0.0.0.0:8080', 'http://scheduler-0:8080')).toBe('http://scheduler-0:8080');
    expect(advertiseAddress('127.0.0.1:7001', undefined)).toBe('http://127.0.0.1:7001');
  });
  it('kafka: no brokers means no relay; brokers, topics and relay settings are checked, naming the key', () => {
    expect(loadConfig({}).TASKD_KAFKA_BROKERS).toBeUndefined();
    const c = loadConfig({ TASKD_KAFKA_BROKERS: 'k1:9092, k2:9092' });
    expect(c.TASKD_KAFKA_BROKERS).toEqual(['k1:9092', 'k2:9092']);
    expect([c.TASKD_KAFKA_EVENTS_TOPIC, c.TASKD_KAFKA_DEAD_LETTERS_TOPIC, c.TASKD_RELAY_BATCH]).toEqual(['taskd.events', 'taskd.dead-letters', 500]);
    expect(() => loadConfig({ TASKD_KAFKA_BROKERS: 'http://k1:9092' })).toThrow('TASKD_KAFKA_BROKERS: expected host:port');
    expect(() => loadConfig({ TASKD_KAFKA_EVENTS_TOPIC: 'a b' })).toThrow('TASKD_KAFKA_EVENTS_TOPIC: must be a Kafka topic name');
    expect(() => loadConfig({ TASKD_KAFKA_DEAD_LETTERS_TOPIC: 'taskd.events' })).toThrow('TASKD_KAFKA_EVENTS_TOPIC and TASKD_KAFKA_DEAD_LETTERS_TOPIC must differ');
    expect(() => loadConfig({ TASKD_RELAY_BATCH: '0' })).toThrow(/TASKD_RELAY_BATCH/);
  });
  it('parses host:port', () => {
    expect(parseHostPort('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(() => parseHostPort('nope')).toThrow('TASKD_ADDR');
  });
  it('authentication: on with any verifier, refused half-configured, required beyond loopback', () => {
    const secret = 'x'.repeat(32);
    expect(authEnabled(loadConfig({}))).toBe(false);
    expect(authEnabled(loadConfig({ TASKD_AUTH_HS256_SECRET: secret }))).toBe(true);
    expect(() => loadConfig({ TASKD_AUTH_HS256_SECRET: 'short' })).toThrow('TASKD_AUTH_HS256_SECRET: must be at least 32 characters');
    expect(() => loadConfig({ TASKD_AUTH_JWKS_URL: 'http://a/jwks', TASKD_AUTH_JWKS_FILE: '/k.json' })).toThrow('set one of TASKD_AUTH_JWKS_URL and TASKD_AUTH_JWKS_FILE');
    expect(() => loadConfig({ TASKD_AUTH_JWKS_ALGORITHMS: 'RS256,HS256' })).toThrow('TASKD_AUTH_JWKS_ALGORITHMS: HS256 not allowed');
    expect(() => requireAuthBeyondLoopback(loadConfig({ TASKD_ADDR: '0.0.0.0:8080' }), 'the apiserver'))
      .toThrow('the apiserver runs without authentication and binds only to loopback');
    expect(() => requireAuthBeyondLoopback(loadConfig({ TASKD_ADDR: '127.0.0.1:8080' }), 'the apiserver')).not.toThrow();
    expect(() => requireAuthBeyondLoopback(loadConfig({ TASKD_ADDR: '0.0.0.0:8080', TASKD_AUTH_HS256_SECRET: secret }), 'the apiserver')).not.toThrow();
  });
});
