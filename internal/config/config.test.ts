import { describe, expect, it } from 'vitest';
import { advertiseAddress, loadConfig, parseHostPort } from './config.js';

describe('loadConfig', () => {
  it('applies defaults', () => {
    const c = loadConfig({});
    expect(c.TASKD_ADDR).toBe('127.0.0.1:8080');
    expect(c.TASKD_WORKER_QUEUES).toEqual(['default']);
  });
  it('refuses a typo, naming the key', () => {
    expect(() => loadConfig({ TASKD_LEASE_TTL: '5' })).toThrow('unknown setting TASKD_LEASE_TTL');
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
  it('parses host:port', () => {
    expect(parseHostPort('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(() => parseHostPort('nope')).toThrow('TASKD_ADDR');
  });
});
