import { describe, expect, test } from 'vitest';
import { busyCores, parseCpuTotals } from './machine.js';

describe('parseCpuTotals and busyCores', () => {
  const stat = (user: number, idle: number): string =>
    `cpu  ${user} 0 ${user} ${idle} 10 0 5 0 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 1 2\n`;

  test('counts user, system, irq, softirq and steal as busy; idle and iowait as not', () => {
    expect(parseCpuTotals(stat(100, 1000))).toEqual({ busy: 205, total: 1215 });
  });

  test('busy cores scale the busy share by the CPU count', () => {
    const a = parseCpuTotals(stat(100, 1000));
    const b = parseCpuTotals(stat(150, 1100));
    // 100 more busy ticks of 200 more ticks on 2 CPUs: one core busy on average.
    expect(busyCores(a, b, 2)).toBe(1);
    expect(busyCores(a, a, 2)).toBeNaN();
  });

  test('throws without an aggregate line', () => {
    expect(() => parseCpuTotals('cpu0 1 2 3\n')).toThrow(/aggregate/);
  });
});
