import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram, commandPaths } from '../../internal/cli/program.js';
import { bufferIo } from '../../internal/cli/test-io.js';
import { NonRetryableError, type Handler } from '../../internal/sdk/index.js';
import { hsToken, TEST_HS256_SECRET } from '../auth-kit.js';
import { Cluster } from '../cluster.js';
import { InprocWorkers } from '../inproc-worker.js';
import { reapAll, REPO_ROOT } from '../procs.js';
import { createTestDatabase, redisPrefix, testEnv, type TestDatabase } from '../stack.js';

const TASKCTL = join(REPO_ROOT, 'bin', 'taskctl');
const UNKNOWN = '01900000-0000-7000-8000-000000000000';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('taskctl, the real binary against a real cluster', () => {
  let db: TestDatabase;
  let cluster: Cluster;
  let dir: string;
  const workers = new InprocWorkers();
  const step: Handler = (ctx) => ({ got: ctx.payload ?? null, parents: Object.keys(ctx.parents ?? {}).sort() });
  const fail: Handler = () => {
    throw new NonRetryableError('bad input: no recipient');
  };

  let admin: string;

  /**
   * Runs bin/taskctl as a subprocess from a scratch directory (not the repository), with
   * HOME there too (no user config file), the server from TASKD_SERVER and an admin token
   * from TASKD_TOKEN; `env` adds to or (with undefined) removes from that.
   */
  const taskctl = (args: string[], input?: string, extraEnv: Record<string, string | undefined> = {}): Promise<Run> =>
    new Promise((resolve, reject) => {
      const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir, TASKD_SERVER: cluster.apiUrl, TASKD_TOKEN: admin };
      for (const k of Object.keys(env)) if (k.startsWith('VITEST') || k.startsWith('TASKCTL_')) delete env[k];
      for (const [k, v] of Object.entries(extraEnv)) {
        if (v === undefined) delete env[k];
        else env[k] = v;
      }
      const p = spawn(TASKCTL, args, { cwd: dir, env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const timer = setTimeout(() => p.kill('SIGKILL'), 90_000);
      p.on('error', reject);
      p.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
      p.stdin.on('error', () => undefined);
      p.stdin.end(input ?? '');
    });

  beforeAll(async () => {
    db = await createTestDatabase();
    cluster = await Cluster.start({
      pgUrl: db.url, redisUrl: testEnv().redisUrl, redisPrefix: redisPrefix(), schedulers: 1, workers: 0,
      auth: { env: { TASKD_AUTH_HS256_SECRET: TEST_HS256_SECRET } },
    });
    admin = await hsToken({ sub: 'taskctl-admin', roles: ['admin'], namespaces: ['*'] });
    const workerToken = await hsToken({ sub: 'taskctl-worker', roles: ['worker'], namespaces: ['*'] });
    await workers.start(cluster.schedulerAddrs, { step, fail }, { slots: 4, token: workerToken });
    dir = mkdtempSync(join(tmpdir(), 'taskctl-'));
  });
  afterAll(async () => {
    await workers.stopAll();
    await reapAll();
    await cluster?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('submits a workflow from a YAML file, watches it to the end (exit 0) and prints a task\'s result', async () => {
    writeFileSync(join(dir, 'etl.yaml'), [
      'name: etl',
      'failurePolicy: fail-fast',
      'tasks:',
      '  - name: extract',
      '    task: { type: step, payload: { rows: 3 }, timeout: 1m }',
      '  - name: load',
      '    dependsOn: [extract]',
      '    task: { type: step, payload: { table: facts } }',
    ].join('\n'));
    const sub = await taskctl(['workflow', 'submit', 'etl.yaml', '-o', 'json']);
    expect(sub, sub.stderr).toMatchObject({ code: 0, stderr: '' });
    const wf = JSON.parse(sub.stdout) as { id: string; tasks: Array<{ name: string; task: { id: string } }> };
    const loadId = wf.tasks.find((t) => t.name === 'load')!.task.id;

    const watch = await taskctl(['workflow', 'watch', wf.id]);
    expect(watch.code, watch.stderr).toBe(0);
    expect(watch.stdout).toMatch(/ extract {2}SUCCEEDED {2}\(\d\/2 done\)\n/);
    expect(watch.stdout).toMatch(/ load {2}SUCCEEDED {2}\(2\/2 done\)\n/);
    expect(watch.stdout.trimEnd().split('\n').at(-1)).toBe(`workflow ${wf.id} SUCCEEDED: SUCCEEDED 2`);

    const result = await taskctl(['result', loadId]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ got: { table: 'facts' }, parents: ['extract'] });

    const get = await taskctl(['workflow', 'get', wf.id]);
    expect(get.stdout).toMatch(/^Status:\s+SUCCEEDED$/m);
    expect(get.stdout).toMatch(new RegExp(`^load\\s+SUCCEEDED\\s+extract\\s+${loadId}\\s+1/3`, 'm'));
  });

  it('submits a payload from stdin and waits for the end; list finds it by label', async () => {
    const r = await taskctl(['submit', 'step', '--payload-file', '-', '--label', 'src=stdin', '--wait', '-o', 'json'], '{"from": "stdin"}');
    expect(r.code, r.stderr).toBe(0);
    const t = JSON.parse(r.stdout) as { id: string; status: string; output: unknown; labels: Record<string, string> };
    expect(t).toMatchObject({ status: 'TASK_STATUS_SUCCEEDED', output: { got: { from: 'stdin' }, parents: [] }, labels: { src: 'stdin' } });

    const list = await taskctl(['list', '--label', 'src=stdin', '--status', 'succeeded', '-o', 'id']);
    expect(list).toMatchObject({ code: 0, stdout: `${t.id}\n` });
  });

  it('get of an unknown id exits 3 with one line on stderr', async () => {
    const r = await taskctl(['get', UNKNOWN]);
    expect(r).toEqual({ code: 3, stdout: '', stderr: `taskctl: not_found: task ${UNKNOWN} not found\n` });
  });

  it('an invalid submit exits 7 and names the field', async () => {
    const r = await taskctl(['submit', 'step', '--priority', '5000']);
    expect(r.code).toBe(7);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^taskctl: invalid_argument: task\.priority: must be an integer from 0 to 1000\n$/);
  });

  it('watching a task that fails exits 4; so does its result', async () => {
    const sub = await taskctl(['submit', 'fail', '-o', 'id']);
    expect(sub.code, sub.stderr).toBe(0);
    const id = sub.stdout.trim();
    const watch = await taskctl(['watch', id]);
    expect(watch.code).toBe(4);
    expect(watch.stdout).toMatch(new RegExp(`Z {2}${id} {2}FAILED {2}attempt 1/3 {2}\\S+ {2}.*bad input: no recipient\\n$`));
    expect(watch.stderr).toMatch(new RegExp(`^taskctl: unsuccessful: task ${id} ended FAILED: .*bad input: no recipient\\n$`));
    const result = await taskctl(['result', id]);
    expect(result).toMatchObject({ code: 4, stdout: '' });
  });

  it('credentials: none is exit 6; --token beats TASKD_TOKEN, which beats the config file\'s context', async () => {
    const none = await taskctl(['get', UNKNOWN], undefined, { TASKD_TOKEN: undefined });
    expect(none.code).toBe(6);
    expect(none.stderr).toMatch(/^taskctl: unauthenticated: .*\n$/);
    expect((await taskctl(['--token', 'not-a-token', 'get', UNKNOWN])).code).toBe(6);

    const viewer = await hsToken({ sub: 'taskctl-viewer', roles: ['viewer'], namespaces: ['default'] });
    const config = join(dir, 'taskctl.yaml');
    writeFileSync(config, [
      `server: ${cluster.apiUrl}`,
      'current-context: look',
      'contexts:',
      `  look: { token: "${viewer}" }`,
      `  act: { token: "${admin}", namespace: default }`,
    ].join('\n'));
    const env = { TASKCTL_CONFIG: config, TASKD_TOKEN: undefined, TASKD_SERVER: undefined };
    const denied = await taskctl(['submit', 'step'], undefined, env);
    expect(denied.code).toBe(6);
    expect(denied.stderr).toMatch(/^taskctl: permission_denied: .*submitter/);
    expect((await taskctl(['get', UNKNOWN], undefined, env)).code).toBe(3);
    expect((await taskctl(['--context', 'act', 'submit', 'step', '-o', 'id'], undefined, env)).code).toBe(0);
    expect((await taskctl(['submit', 'step', '-o', 'id'], undefined, { ...env, TASKD_TOKEN: admin })).code).toBe(0);
  });

  it('api-keys: a key created by taskctl authenticates taskctl, until it is revoked', async () => {
    const created = await taskctl(['api-keys', 'create', '--name', 'ci', '--role', 'submitter', '--namespaces', 'default', '-o', 'json']);
    expect(created.code, created.stderr).toBe(0);
    const { apiKey, secret } = JSON.parse(created.stdout) as { apiKey: { id: string; role: string }; secret: string };
    expect(apiKey.role).toBe('ROLE_SUBMITTER');
    const used = await taskctl(['--token', secret, 'submit', 'step', '--payload', '{"via":"api key"}', '--wait', '-o', 'json']);
    expect(used.code, used.stderr).toBe(0);
    expect(JSON.parse(used.stdout)).toMatchObject({ status: 'TASK_STATUS_SUCCEEDED', output: { got: { via: 'api key' } } });
    expect((await taskctl(['api-keys', 'list', '-o', 'id'])).stdout.split('\n')).toContain(apiKey.id);
    expect((await taskctl(['api-keys', 'revoke', apiKey.id])).code).toBe(0);
    const revoked = await taskctl(['--token', secret, 'get', UNKNOWN]);
    expect(revoked.code).toBe(6);
    expect(revoked.stderr).toContain('revoked');
  });

  it('cluster status shows the leader and the worker', async () => {
    const r = await taskctl(['cluster', 'status']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Leader:\s+http:\/\/127\.0\.0\.1:\d+ \(epoch \d+/m);
    expect(r.stdout).toMatch(/^WORKER\s+RUNNING\s+SLOTS/m);
  });

  it('--help works for every command in the tree', async () => {
    const paths = commandPaths(buildProgram(bufferIo().io));
    expect(paths.length).toBeGreaterThan(30);
    const failures: string[] = [];
    const queue = [[], ...paths];
    await Promise.all(Array.from({ length: 3 }, async () => {
      for (let p = queue.shift(); p; p = queue.shift()) {
        const r = await taskctl([...p, '--help']);
        if (r.code !== 0 || !r.stdout.startsWith(`Usage: taskctl ${p.join(' ')}`.trimEnd()) || r.stderr !== '') {
          failures.push(`${p.join(' ')}: exit ${r.code} ${r.stderr}`);
        }
      }
    }));
    expect(failures).toEqual([]);
  }, 300_000);
});
