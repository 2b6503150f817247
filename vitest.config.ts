import { defineConfig } from 'vitest/config';

// Tests that touch the database are named *.db.test.ts and run once per database kind: always on PGlite
// (in-process), and again on the real PostgreSQL when TEST_DATABASE_URL is set (CI always sets it).
// Tests about several processes sharing one database (*.pg.test.ts) need PostgreSQL — PGlite is one
// process — and run in the postgres project only.
const dbKinds = process.env.TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];

export default defineConfig({
  test: {
    // The machine has 2 cores; more workers only make PGlite start-up slower.
    maxWorkers: 2,
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts', 'connectors/**/*.test.ts'],
          exclude: [
            '**/*.db.test.ts',
            '**/*.pg.test.ts',
            'test/bench/**',
            'test/dashboard/**',
            'node_modules/**',
          ],
        },
      },
      ...dbKinds.map((kind) => ({
        extends: true as const,
        test: {
          name: kind,
          include:
            kind === 'postgres' ? ['test/**/*.db.test.ts', 'test/**/*.pg.test.ts'] : ['test/**/*.db.test.ts'],
          env: { CLOSELOOP_TEST_DB: kind },
        },
      })),
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['web-snippet/test/**/*.test.ts', 'test/dashboard/**/*.test.ts'],
        },
      },
    ],
  },
});
