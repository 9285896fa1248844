import { createServer } from 'node:net';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { isAlive, processState, retryUntil } from './servers/exec.js';
import { freePort, reapAll, spawnTaskd, type LogLine } from './procs.js';

const FIXTURE = 'test/fixtures/json-logger.ts';
const WAIT = 20_000;

function msg(m: string): (line: LogLine) => boolean {
  return (line) => typeof line === 'object' && line.msg === m;
}

afterAll(reapAll);

describe('spawnTaskd', { timeout: 60_000 }, () => {
  test('captures JSON and plain lines, merges env, and counts already-seen lines', async () => {
    const p = spawnTaskd('logger', FIXTURE, { FIXTURE_GREETING: 'hi' });
    const started = await p.waitForLog(msg('started'), WAIT);
    expect(started).toMatchObject({ level: 30, msg: 'started', greeting: 'hi', vitest: null, pid: p.pid });
    expect(await p.waitForLog((l) => l === 'plain text on stderr', WAIT)).toBe('plain text on stderr');
    // Seen before this call, still matches at once.
    expect(await p.waitForLog(msg('started'), 1)).toBe(started);
    expect(p.output()).toContain('plain text on stderr');
    p.kill();
    expect(await p.exited).toEqual({ code: 0, signal: null });
    expect(p.output().some((l) => l.includes('shutting down'))).toBe(true);
  });

  test('waitForLog rejects on timeout with the last lines of output', async () => {
    const p = spawnTaskd('logger', FIXTURE, {});
    await p.waitForLog(msg('started'), WAIT);
    await expect(p.waitForLog(msg('never'), 50)).rejects.toThrow(
      /no matching line from logger .* within 50 ms; last 2 lines of output:\n\{.*"started".*\}\nplain text on stderr/s,
    );
    p.kill9();
  });

  test('waitForLog rejects when the process exits first, and afterwards', async () => {
    const p = spawnTaskd('quitter', FIXTURE, {}, { args: ['exit-now'] });
    await expect(p.waitForLog(msg('never'), WAIT)).rejects.toThrow(/quitter .* exited with code 3.*"exiting"/s);
    expect(await p.exited).toEqual({ code: 3, signal: null });
    await expect(p.waitForLog(msg('never'), WAIT)).rejects.toThrow(/had already exited \(code 3/);
    expect(await p.waitForLog(msg('exiting'), WAIT)).toMatchObject({ msg: 'exiting' });
  });

  test('kill9 ends the process with SIGKILL', async () => {
    const p = spawnTaskd('logger', FIXTURE, {});
    await p.waitForLog(msg('started'), WAIT);
    p.kill9();
    expect(await p.exited).toEqual({ code: null, signal: 'SIGKILL' });
    p.kill9(); // no-op once exited
  });

  test('stop freezes the process and cont resumes it', async () => {
    const p = spawnTaskd('logger', FIXTURE, {});
    await p.waitForLog(msg('started'), WAIT);
    p.stop();
    await retryUntil('process stopped', async () => expect(processState(p.pid)).toBe('T'), { timeoutMs: WAIT });
    process.kill(p.pid, 'SIGUSR2'); // stays pending while frozen
    expect(p.output().some((l) => l.includes('"pong"'))).toBe(false);
    p.cont();
    expect(await p.waitForLog(msg('pong'), WAIT)).toMatchObject({ n: 1 });
    p.kill9();
  });

  test('keeps only the last bufferLines lines', async () => {
    const p = spawnTaskd('chatty', FIXTURE, { FIXTURE_LINES: '20' }, { bufferLines: 5 });
    await p.waitForLog((l) => typeof l === 'object' && l.i === 19, WAIT);
    expect(p.output()).toHaveLength(5);
    expect(p.output().at(-1)).toContain('"i":19');
    p.kill9();
  });

  test('TASKD_TEST_VERBOSE=1 copies output to stderr with the name', async () => {
    vi.stubEnv('TASKD_TEST_VERBOSE', '1');
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const p = spawnTaskd('loud', FIXTURE, {});
      await p.waitForLog((l) => l === 'plain text on stderr', WAIT);
      expect(write).toHaveBeenCalledWith('[loud] plain text on stderr\n');
      p.kill9();
    } finally {
      write.mockRestore();
      vi.unstubAllEnvs();
    }
  });

  test('reapAll kills running and frozen processes', async () => {
    const a = spawnTaskd('a', FIXTURE, {});
    const b = spawnTaskd('b', FIXTURE, {});
    await Promise.all([a.waitForLog(msg('started'), WAIT), b.waitForLog(msg('started'), WAIT)]);
    b.stop();
    await reapAll();
    expect(await a.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await b.exited).toEqual({ code: null, signal: 'SIGKILL' });
  });
});

describe('orphans', { timeout: 60_000 }, () => {
  async function expectGone(pid: number): Promise<void> {
    await retryUntil(`pid ${pid} gone`, async () => expect(isAlive(pid)).toBe(false), { timeoutMs: WAIT });
  }

  test("the 'exit' hook kills children when the test process exits without reaping", async () => {
    const spawner = spawnTaskd('spawner', 'test/fixtures/spawner.ts', {}, { args: ['exit'] });
    const line = (await spawner.waitForLog(msg('spawned'), WAIT)) as { childPid: number };
    expect(await spawner.exited).toEqual({ code: 0, signal: null });
    await expectGone(line.childPid);
  });

  test('children kill themselves when the test process is SIGKILLed', async () => {
    const spawner = spawnTaskd('spawner', 'test/fixtures/spawner.ts', {});
    const line = (await spawner.waitForLog(msg('spawned'), WAIT)) as { childPid: number };
    expect(isAlive(line.childPid)).toBe(true);
    spawner.kill9();
    await expectGone(line.childPid);
  });
});

describe('freePort', () => {
  test('returns a port that can be bound on 127.0.0.1', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.on('error', reject);
      server.listen({ host: '127.0.0.1', port }, resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  });
});
