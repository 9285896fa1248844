import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DescService } from '@bufbuild/protobuf';
import { REPO_ROOT } from './procs.js';

/**
 * Every service taskd's protos define (public and internal), read from the generated
 * descriptors under gen/taskd, so a new service or method is in every list built from
 * this without anyone adding it: the role table in docs/auth.md and the auth matrix.
 * Sorted by name.
 */
export async function taskdServices(): Promise<DescService[]> {
  const root = join(REPO_ROOT, 'gen', 'taskd');
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('_pb.ts')).sort();
  const services = new Map<string, DescService>();
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(root, f)).href)) as Record<string, unknown>;
    for (const v of Object.values(mod)) {
      const d = v as Partial<DescService> | undefined;
      if (d && typeof d === 'object' && d.kind === 'service' && d.typeName) services.set(d.typeName, d as DescService);
    }
  }
  if (services.size === 0) throw new Error(`no services found under ${relative(REPO_ROOT, root)}: run npm run generate`);
  return [...services.values()].sort((a, b) => a.typeName.localeCompare(b.typeName));
}
