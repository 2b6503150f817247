import { ensurePgliteTemplate } from './pglite-template.ts';

export default async function setup(): Promise<void> {
  await ensurePgliteTemplate();
}
