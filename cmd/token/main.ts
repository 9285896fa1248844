import { Command } from 'commander';
import { bootstrapApiKey, bootstrapToken } from '../../internal/app/bootstrap-credentials.js';
import { loadConfig } from '../../internal/config/config.js';
import { systemClock } from '../../internal/shared/clock.js';
import { silentLogger } from '../../internal/shared/logger.js';
import { migrateDb, openPostgres } from '../../internal/storage/db.js';

/**
 * Bootstrap credentials (docs/auth.md): prints an HS256 JWT minted with
 * TASKD_AUTH_HS256_SECRET, or with --api-key creates an API key straight in Postgres
 * (TASKD_DATABASE_URL) and prints its secret, shown this once.
 *
 *   npm run token -- --role admin --namespaces '*' --subject alice --ttl 24h
 *   npm run token -- --api-key bootstrap --role admin --namespaces '*' --ttl 30d
 */
const program = new Command('token')
  .requiredOption('--role <role>', 'viewer, submitter, operator, admin, worker or system')
  .requiredOption('--namespaces <list>', 'comma-separated namespaces, "*" for all')
  .option('--subject <sub>', 'the token\'s subject (who it is for)', process.env.USER || 'admin')
  .option('--ttl <duration>', 'lifetime: 30m, 24h, 30d', '24h')
  .option('--api-key <name>', 'create an API key with this name in Postgres instead of minting a JWT')
  .action(async (o: { role: string; namespaces: string; subject: string; ttl: string; apiKey?: string }) => {
    const config = loadConfig();
    if (!o.apiKey) {
      process.stdout.write(`${await bootstrapToken(config, o, Date.now())}\n`);
      return;
    }
    if (!config.TASKD_DATABASE_URL) throw new Error('TASKD_DATABASE_URL is required to create an API key');
    const db = openPostgres(config.TASKD_DATABASE_URL, { max: 1 });
    try {
      await migrateDb(db);
      const r = await bootstrapApiKey({ logger: silentLogger(), clock: systemClock }, db, { ...o, name: o.apiKey });
      process.stderr.write(`created API key ${r.key.id} (${r.key.role}, namespaces ${r.key.namespaces.join(',')}, expires ${r.key.expiresAt?.toISOString()})\n`);
      process.stdout.write(`${r.secret}\n`);
    } finally {
      await db.close();
    }
  });

program.parseAsync().catch((e: unknown) => {
  process.stderr.write(`token: ${(e as Error).message}\n`);
  process.exit(1);
});
