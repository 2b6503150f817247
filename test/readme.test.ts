import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rowErrorCodes } from '../src/domain/row-errors.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('documents every row error code', () => {
    for (const code of Object.keys(rowErrorCodes)) expect(readme, code).toContain(`\`${code}\``);
  });

  it('keeps the two-command quick start', () => {
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm test');
  });
});
