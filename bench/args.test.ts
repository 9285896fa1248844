import { describe, expect, test } from 'vitest';
import { parseBenchArgs } from './args.js';

describe('parseBenchArgs', () => {
  test('defaults', () => {
    expect(parseBenchArgs([])).toEqual({
      modes: ['throughput'], tasks: 20_000, batch: undefined, concurrency: 4, rate: 2_500, seconds: 20, warmup: 2_000,
      backlog: 1_000_000, slots: 64, timeoutSec: 1_800, json: undefined, events: 'outbox', help: false,
    });
  });

  test('--events: outbox, kafka or off', () => {
    expect(parseBenchArgs(['--events', 'kafka']).events).toBe('kafka');
    expect(parseBenchArgs(['--events', 'off']).events).toBe('off');
    expect(() => parseBenchArgs(['--events', 'nats'])).toThrow(/--events: unknown setting "nats"/);
  });

  test('modes run in a fixed order whatever order they are given in', () => {
    expect(parseBenchArgs(['--mode', 'backlog,throughput']).modes).toEqual(['throughput', 'backlog']);
  });

  test('reads numbers, --json and --warmup 0', () => {
    const o = parseBenchArgs(['--tasks', '100', '--batch', '50', '--slots', '8', '--warmup', '0', '--json', 'out.json']);
    expect(o).toMatchObject({ tasks: 100, batch: 50, slots: 8, warmup: 0, json: 'out.json' });
  });

  test('--rate half needs the throughput mode', () => {
    expect(parseBenchArgs(['--mode', 'throughput,latency', '--rate', 'half']).rate).toBe('half');
    expect(() => parseBenchArgs(['--mode', 'latency', '--rate', 'half'])).toThrow(/needs the throughput mode/);
  });

  test('rejects bad values, naming the flag', () => {
    expect(() => parseBenchArgs(['--mode', 'fast'])).toThrow(/--mode: unknown mode "fast"/);
    expect(() => parseBenchArgs(['--tasks', '0'])).toThrow(/--tasks: must be an integer/);
    expect(() => parseBenchArgs(['--rate', '1.5'])).toThrow(/--rate/);
    expect(() => parseBenchArgs(['--batch', '20000'])).toThrow(/--batch: must be an integer from 1 to 10000/);
    expect(() => parseBenchArgs(['--nope'])).toThrow();
  });
});
