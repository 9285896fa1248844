import { describe, expect, it } from 'vitest';
import { buildProgram, commandPaths } from './program.js';
import { runTaskctl } from './run.js';
import { bufferIo } from './test-io.js';

// Every case here fails before any request is sent: no server is needed.
describe('taskctl command line', () => {
  const paths = commandPaths(buildProgram(bufferIo().io));

  it('has the commands of the brief', () => {
    const names = paths.map((p) => p.join(' '));
    for (const c of [
      'submit', 'get', 'list', 'watch', 'cancel', 'retry', 'result', 'workflow submit', 'workflow get', 'workflow list', 'workflow cancel',
      'workflow watch', 'dead-letters list', 'dead-letters get', 'dead-letters replay', 'dead-letters purge', 'schedules create',
      'schedules get', 'schedules list', 'schedules update', 'schedules pause', 'schedules resume', 'schedules trigger', 'schedules delete',
      'cluster status', 'api-keys create', 'api-keys list', 'api-keys revoke',
    ]) expect(names).toContain(c);
  });

  it.each(paths.map((p) => [p.join(' '), p]))('%s --help prints its usage and exits 0', async (_name, path) => {
    const b = bufferIo();
    expect(await runTaskctl([...(path as string[]), '--help'], b.io)).toBe(0);
    expect(b.out()).toContain(`Usage: taskctl ${(path as string[]).join(' ')}`);
    expect(b.err()).toBe('');
  });

  it('the top-level help lists the exit codes', async () => {
    const b = bufferIo();
    expect(await runTaskctl(['--help'], b.io)).toBe(0);
    expect(b.out()).toMatch(/Exit codes:\n {2}0 {2}success\n/);
    expect(b.out()).toContain('7  invalid argument');
  });

  it.each([
    [['submit'], "missing required argument 'type'"],
    [['get', 'x', '--bogus'], "unknown option '--bogus'"],
    [['list', '-o', 'yaml'], 'argument \'yaml\' is invalid'],
    [['nope'], "unknown command 'nope'"],
    [['submit', 'noop', '--delay', '5'], '--delay: "5" is not a duration'],
    [['submit', 'noop', '--delay', '5s', '--run-at', '2030-01-01T00:00:00Z'], '--delay and --run-at cannot be used together'],
    [['submit', 'noop', '--payload', '{nope'], '--payload: not valid JSON'],
    [['submit', 'noop', '--payload', '{}', '--payload-file', '-'], '--payload and --payload-file cannot be used together'],
    [['submit', 'noop', '--label', 'novalue'], '--label: "novalue" is not key=value'],
    [['list', '--status', 'done'], '--status: "done" is not one of'],
    [['list', '--limit', '0'], '--limit: must be at least 1'],
    [['get', 'x', '--context', 'prod'], 'context "prod" is not in the config file'],
    [['get', 'x', '--config', '/nonexistent/taskctl.yaml'], 'config /nonexistent/taskctl.yaml:'],
    [['workflow', 'submit', '/nonexistent/wf.yaml'], 'file /nonexistent/wf.yaml: no such file'],
    [['dead-letters', 'purge'], 'name dead letter ids, or --before / --older-than'],
    [['schedules', 'create', '--payload', '{}'], 'task flags need a task template: give --task-type'],
  ])('%j is a usage error (exit 2): %s', async (argv, message) => {
    const b = bufferIo();
    expect(await runTaskctl(argv, b.io)).toBe(2);
    expect(b.err()).toContain(message);
    expect(b.err()).toMatch(/^taskctl: usage: /);
    expect(b.out()).toBe('');
  });

  it('a group without its subcommand shows the group\'s help on stderr and exits 2', async () => {
    const b = bufferIo();
    expect(await runTaskctl(['workflow'], b.io)).toBe(2);
    expect(b.err()).toContain('Usage: taskctl workflow');
  });

  it('workflow files from stdin must be well-formed specs', async () => {
    const b = bufferIo({ input: 'name: x\ntasks:\n  - name: a\n    tsk: { type: noop }\n' });
    expect(await runTaskctl(['workflow', 'submit', '-'], b.io)).toBe(2);
    expect(b.err()).toMatch(/^taskctl: usage: stdin: .*tsk/);
  });
});
