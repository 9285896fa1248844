import { describe, expect, test } from 'vitest';
import { kbField, statCpuTicks } from './process-sampler.js';

describe('kbField', () => {
  const status = 'Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t11\n';

  test('reads a kB field as bytes', () => {
    expect(kbField(status, 'VmRSS')).toBe(102_400 * 1024);
    expect(kbField(status, 'VmHWM')).toBe(204_800 * 1024);
  });

  test('is undefined for a missing field', () => {
    expect(kbField(status, 'Pss')).toBeUndefined();
  });
});

describe('statCpuTicks', () => {
  test('sums utime and stime (fields 14 and 15)', () => {
    const stat = '4242 (node) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 40 0 0 20 0 11 0 123 0 0';
    expect(statCpuTicks(stat)).toBe(290);
  });

  test('is not fooled by spaces and parentheses in the command name', () => {
    const stat = '7 (a b) (c)) R 1 7 7 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 1 0 0';
    expect(statCpuTicks(stat)).toBe(11);
  });

  test('is undefined for a truncated line', () => {
    expect(statCpuTicks('7 (x) R 1')).toBeUndefined();
  });
});
