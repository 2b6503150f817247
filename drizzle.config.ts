import { defineConfig } from 'drizzle-kit';

// Migrations are generated from src/db/schema by `npm run db:generate`, committed, and applied at start.
// They are append-only: test/db/migrations.test.ts runs drizzle-kit into a copy of the folder
// (DRIZZLE_OUT) and fails when the schema has changes no migration holds, or a committed one was edited.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema/index.ts',
  out: process.env.DRIZZLE_OUT ?? './src/db/migrations',
});
