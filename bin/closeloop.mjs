#!/usr/bin/env node
// The CLI is TypeScript run directly by Node >= 22.18 (type stripping); this file only forwards to it.
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
