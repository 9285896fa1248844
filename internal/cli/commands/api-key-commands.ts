import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { Command } from 'commander';
import { ApiKeySchema, CreateApiKeyResponseSchema, ListApiKeysResponseSchema, type ApiKey } from '../../../gen/taskd/v1/auth_service_pb.js';
import { Role } from '../../../gen/taskd/v1/options_pb.js';
import { action } from '../action.js';
import { collectList, parseEnumName } from '../arg-parsers.js';
import { usageError } from '../cli-error.js';
import type { CliIo } from '../cli-io.js';
import { parseDuration, parseTime } from '../duration.js';
import { addPagingFlags, fetchPages, hintMore, type PageFlags } from '../paging.js';
import { renderFields } from '../table.js';
import { apiKeysTable, roleName } from '../views/api-key-view.js';
import { timeText } from '../views/format.js';

/** Adds `api-keys create|list|revoke` to `program`. */
export function addApiKeyCommands(program: Command, io: CliIo): void {
  const keys = program.command('api-keys').summary('manage API keys (admin)').description('Long-lived credentials for scripts and workers. Needs the admin role.');

  keys.command('create').summary('create a key; its secret is shown once').description(
    'Create an API key and print its secret, which cannot be read again. Send it as --token (or TASKD_TOKEN).',
  )
    .requiredOption('--name <name>', 'a name to recognise the key by')
    .requiredOption('--role <role>', 'viewer, submitter, operator, admin or worker')
    .option('--namespaces <list>', 'namespaces it may act in, comma-separated ("*" for all; repeatable)', collectList)
    .option('--expires-in <duration>', 'expire after this long (e.g. 90d)')
    .option('--expires-at <time>', 'expire at this ISO 8601 time')
    .action(action<{ name: string; role: string; namespaces?: string[]; expiresIn?: string; expiresAt?: string }>(io, async (s, _a, o) => {
      if (o.expiresIn !== undefined && o.expiresAt !== undefined) throw usageError('--expires-in and --expires-at cannot be used together');
      const expires = o.expiresAt !== undefined ? parseTime(o.expiresAt, '--expires-at')
        : o.expiresIn !== undefined ? new Date(s.now() + parseDuration(o.expiresIn, '--expires-in')) : undefined;
      const r = await s.api.apiKeys.createApiKey({
        name: o.name, role: parseEnumName(o.role, Role, 'ROLE', '--role'), namespaces: o.namespaces ?? [],
        ...(expires ? { expiresAt: timestampFromDate(expires) } : {}),
      }, s.call);
      const k = r.apiKey as ApiKey;
      s.out.print(CreateApiKeyResponseSchema, r, {
        table: () => renderFields([
          ['ID', k.id], ['Name', k.name], ['Role', roleName(k.role)], ['Namespaces', k.namespaces.join(',')],
          ['Expires', timeText(k.expiresAt)], ['Secret', r.secret],
        ]),
        ids: () => [k.id],
      });
      if (s.out.format === 'table') s.io.stderr.write('The secret is shown only this once: store it now.\n');
    }));

  addPagingFlags(keys.command('list').summary('list API keys').option('--include-revoked', 'include revoked keys'))
    .action(action<PageFlags & { includeRevoked?: boolean }>(io, async (s, _a, o) => {
      const page = await fetchPages(async (pageSize, pageToken) => {
        const r = await s.api.apiKeys.listApiKeys({ includeRevoked: o.includeRevoked ?? false, pageSize, pageToken }, s.call);
        return { items: r.apiKeys, next: r.nextPageToken };
      }, o);
      s.out.print(ListApiKeysResponseSchema, create(ListApiKeysResponseSchema, { apiKeys: page.items, nextPageToken: page.next }), {
        table: () => apiKeysTable(page.items), ids: () => page.items.map((k) => k.id),
      });
      if (s.out.format === 'table') hintMore(s.io.stderr, page.next);
    }));

  keys.command('revoke').summary('stop a key from authenticating').argument('<id>', 'key id')
    .action(action(io, async (s, [id]) => {
      const k = (await s.api.apiKeys.revokeApiKey({ id }, s.call)).apiKey as ApiKey;
      s.out.print(ApiKeySchema, k, { table: () => `revoked API key ${k.id} (${k.name})\n`, ids: () => [k.id] });
    }));
}
