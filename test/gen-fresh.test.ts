import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, test } from 'vitest';
import { REPO_ROOT } from './procs.js';

const STALE = 'gen/ is out of date with proto/: run npm run generate';
const BIN = join(REPO_ROOT, 'node_modules', '.bin');

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

let tmp: string | undefined;
afterAll(async () => {
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

test('gen/ is what buf generate makes from proto/', { timeout: 120_000 }, async () => {
  tmp = await mkdtemp(join(tmpdir(), 'taskd-gen-'));
  const out = join(tmp, 'gen');
  // The repo's template with every plugin's `out: gen[/…]` redirected into tmp.
  const template = (await readFile(join(REPO_ROOT, 'buf.gen.yaml'), 'utf8')).replace(
    /^(\s*(?:-\s+)?out:\s*)gen(?=\/|\s*$)/gm,
    (_, key: string) => `${key}${out}`,
  );
  expect(template, 'buf.gen.yaml should write into gen/').toContain(out);
  await writeFile(join(tmp, 'buf.gen.yaml'), template);

  await promisify(execFile)(join(BIN, 'buf'), ['generate', '--template', join(tmp, 'buf.gen.yaml')], {
    cwd: REPO_ROOT,
    env: { ...process.env, PATH: `${BIN}${delimiter}${process.env.PATH ?? ''}` },
    timeout: 110_000,
  });

  const [fresh, committed] = await Promise.all([listFiles(out), listFiles(join(REPO_ROOT, 'gen'))]);
  const problems = [
    ...committed.filter((f) => !fresh.includes(f)).map((f) => `gen/${f}: not generated from proto/ any more`),
    ...fresh.filter((f) => !committed.includes(f)).map((f) => `gen/${f}: missing`),
  ];
  for (const f of fresh.filter((f) => committed.includes(f))) {
    const [a, b] = await Promise.all([readFile(join(out, f)), readFile(join(REPO_ROOT, 'gen', f))]);
    if (!a.equals(b)) problems.push(`gen/${f}: differs from what buf generates`);
  }
  expect(fresh.length, 'buf generate produced no files').toBeGreaterThan(0);
  // The OpenAPI document comes from a local plugin of the same template (scripts/protoc-gen-openapi.ts).
  expect(fresh, 'buf generate wrote no gen/openapi.json').toContain('openapi.json');
  expect(problems, STALE).toEqual([]);
});
