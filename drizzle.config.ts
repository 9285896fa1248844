import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './internal/storage/schema.ts',
  out: './internal/storage/migrations',
});
