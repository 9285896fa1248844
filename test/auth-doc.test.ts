import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DescMessage, DescMethod } from '@bufbuild/protobuf';
import { expect, test } from 'vitest';
import { methodAccess } from '../internal/rpc/method-access.js';
import { taskdServices } from './taskd-services.js';
import { REPO_ROOT } from './procs.js';

const DOC = join(REPO_ROOT, 'docs', 'auth.md');
const BEGIN = '<!-- roles:begin (generated from the protos by test/auth-doc.test.ts; UPDATE_DOCS=1 rewrites it) -->';
const END = '<!-- roles:end -->';

/** True when the message, or one directly inside it, has a `namespace` field. */
function namesNamespace(m: DescMessage, depth = 0): boolean {
  return m.fields.some((f) => f.name === 'namespace' || (depth === 0 && (f.fieldKind === 'message' || (f.fieldKind === 'list' && f.listKind === 'message'))
    && !f.message.typeName.startsWith('google.') && namesNamespace(f.message, 1)));
}

function rule(m: DescMethod): string {
  if (m.parent.typeName === 'taskd.v1.ApiKeyService') return 'keys whose namespaces lie within the caller\'s; others NOT_FOUND';
  if (!namesNamespace(m.input)) return m.parent.typeName === 'taskd.v1.WorkerService' ? 'receives tasks of its namespaces only' : '—';
  return methodAccess(m).byId ? 'one resource: NOT_FOUND outside' : 'PERMISSION_DENIED outside';
}

/** The role table of docs/auth.md, from the services' descriptors. */
async function roleTable(): Promise<string> {
  const rows = (await taskdServices()).flatMap((s) => s.methods).map((m) => {
    const a = methodAccess(m);
    return `| \`${a.name}\` | ${a.role} | ${rule(m)} |`;
  });
  return ['| Method | Role needed | Namespaces |', '|---|---|---|', ...rows].join('\n');
}

test('docs/auth.md lists every method with the role its proto requires', async () => {
  const doc = readFileSync(DOC, 'utf8');
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  expect(start, `docs/auth.md lacks the marker ${BEGIN}`).toBeGreaterThan(-1);
  const table = await roleTable();
  if (process.env.UPDATE_DOCS === '1') {
    writeFileSync(DOC, `${doc.slice(0, start + BEGIN.length)}\n${table}\n${doc.slice(end)}`);
    return;
  }
  expect(doc.slice(start + BEGIN.length, end).trim(), 'docs/auth.md role table is stale: run UPDATE_DOCS=1 npm test -- test/auth-doc.test.ts').toBe(table);
});
