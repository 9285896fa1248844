import { describe, expect, it } from 'vitest';
import { CliError } from './cli-error.js';
import { formatDuration, parseDuration, parseTime } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500], ['30s', 30_000], ['1.5s', 1_500], ['5m', 300_000], ['1h30m', 5_400_000], ['2d', 172_800_000], [' 1m1s ', 61_000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text, '--delay')).toBe(ms));

  it.each(['30', '', 's', '5 m', '1x', '-5s', '1h30'])('"%s" is a usage error naming the flag', (text) => {
    const e = (() => { try { parseDuration(text, '--delay'); } catch (err) { return err; } })() as CliError;
    expect(e).toBeInstanceOf(CliError);
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain('--delay');
  });
});

describe('formatDuration', () => {
  it.each([[850, '850ms'], [4_230, '4.2s'], [45_000, '45s'], [185_000, '3m05s'], [7_800_000, '2h10m'], [273_600_000, '3d4h']])('%d ms is %s', (ms, text) =>
    expect(formatDuration(ms)).toBe(text));
});

describe('parseTime', () => {
  it('reads ISO 8601 and refuses anything else', () => {
    expect(parseTime('2026-12-01T09:00:00Z', '--run-at').toISOString()).toBe('2026-12-01T09:00:00.000Z');
    expect(() => parseTime('tomorrow', '--run-at')).toThrow(/--run-at: "tomorrow" is not an ISO 8601 time/);
    expect(() => parseTime('1700000000', '--run-at')).toThrow(CliError);
  });
});
