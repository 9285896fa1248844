import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Runs `cmd args` in the repository; resolves with its exit code and interleaved output. */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

// scripts/validate-deploy.sh: hadolint, the compose loader, kustomize + kubeconform (the
// Kubernetes schemas and the Prometheus Operator CRDs), promtool (config, rules, rule unit
// tests, dashboard queries), the project checks with their self-test, and the negative
// tests. The first run on a machine builds its tools with the Go toolchain and a venv
// (minutes, cached under .cache/); later runs take seconds.
it('validates the deployment files with every step run and none skipped', { timeout: 15 * 60_000 }, async () => {
  const env = { ...process.env };
  delete env.VALIDATE_DEPLOY_ALLOW_SKIP;
  const { code, output } = await run('bash', ['scripts/validate-deploy.sh'], env);
  const lines = output.split('\n');
  const report = lines.filter((l) => /^(PASS|FAIL|SKIP) /.test(l) || l.startsWith('tools ready') || l.startsWith('validate-deploy:'));
  console.log(report.join('\n'));
  expect(lines.filter((l) => /^(FAIL|SKIP) /.test(l)), output).toEqual([]);
  expect(code, output).toBe(0);
  expect(output).toMatch(/^validate-deploy: 0 failed, 0 skipped, in /m);
  // Each part of the validation ran and passed.
  for (const step of [
    /^PASS {2}Dockerfile: hadolint/,
    /^PASS {2}docker-compose\.yml: /,
    /^PASS {2}deploy\/k8s: .* rendered/,
    /^PASS {2}deploy\/overlays\/example: .* rendered/,
    /^PASS {2}deploy\/overlays\/example: kubeconform .* \+ operator .* CRDs/,
    /^PASS {2}deploy\/prometheus\/prometheus\.yml: promtool check config/,
    /^PASS {2}deploy\/prometheus\/alerts\.yml: promtool check rules/,
    /^PASS {2}deploy\/prometheus\/alerts\.test\.yml: promtool test rules/,
    /^PASS {2}dashboard and prometheus-adapter queries/,
    /^PASS {2}project checks: /,
    /^PASS {2}tools reject broken copies/,
  ]) {
    expect(lines.some((l) => step.test(l)), `${step} in:\n${report.join('\n')}`).toBe(true);
  }
  expect(output).not.toMatch(/self-test MISSED/);
});
