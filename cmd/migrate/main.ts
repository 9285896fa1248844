import { loadProcessConfig } from '../../internal/app/process-config.js';
import { createLogger } from '../../internal/shared/logger.js';
import { migrateDb, openPostgres } from '../../internal/storage/db.js';

const config = loadProcessConfig('migrate');
const logger = createLogger({ name: 'migrate', level: config.TASKD_LOG_LEVEL });
if (!config.TASKD_DATABASE_URL) {
  logger.fatal('invalid configuration: TASKD_DATABASE_URL is required');
  process.exit(1);
}
const db = openPostgres(config.TASKD_DATABASE_URL, { max: 1 });
try {
  await migrateDb(db);
  logger.info('migrations applied');
} finally {
  await db.close();
}
