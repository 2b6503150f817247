import { describe, expect, it } from 'vitest';
import { apiRouteDocs } from '../../src/http/api-docs.ts';
import { createApp } from '../../src/http/app.ts';
import { openApiPath } from '../../src/http/openapi.ts';
import { createLogger } from '../../src/log.ts';
import { createSecrets } from '../../src/secrets.ts';

/**
 * The app as `closeloop serve` builds it, every optional part given (CRM connectors, schedules,
 * webhooks), so that every route serve mounts is listed. Listing calls nothing: no database is needed.
 */
function app() {
  const secrets = createSecrets(Buffer.alloc(32, 7));
  return createApp({
    ctx: { database: { kind: 'pglite' } as never, customerId: 'default', now: () => new Date() },
    log: createLogger('silent'),
    maxUploadBytes: 1024,
    target: 'emulator',
    crm: { secrets, policy: { allowPrivate: false } },
    schedules: { secrets, limits: { policy: { allowPrivate: false }, maxBytes: 1024 } },
    webhooks: { secrets, publicUrl: 'https://closeloop.example' },
  });
}

describe('OpenAPI document', () => {
  it('describes every /api/v1 route the app registers, and nothing it does not', async () => {
    const registered = new Set(
      app()
        .routes.filter((r) => r.path.startsWith('/api/v1/') && r.method !== 'ALL' && !r.path.endsWith('*'))
        .filter((r) => r.path !== '/api/v1/openapi.json')
        .map((r) => `${r.method} ${openApiPath(r.path)}`),
    );
    const res = await app().request('/api/v1/openapi.json');
    expect(res.status).toBe(200);
    const doc = await res.json();
    expect(doc.openapi).toBe('3.1.0');
    const described = new Set(
      Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
      ),
    );
    const missing = [...registered].filter((r) => !described.has(r));
    expect(missing, 'routes without a description: add their RouteDoc to src/http/api-docs.ts').toEqual([]);
    const extra = [...described].filter((r) => !registered.has(r));
    expect(extra, 'described routes the app does not have').toEqual([]);
    expect(registered.size).toBeGreaterThanOrEqual(apiRouteDocs.length);
    // The optional parts are mounted here, hence checked: connectors, schedules, webhooks.
    for (const part of ['connectors', 'schedules', 'webhooks'])
      expect(
        [...registered].some((r) => r.includes(`/api/v1/${part}`)),
        part,
      ).toBe(true);
  });

  it("takes bodies and query parameters from the routes' zod schemas", async () => {
    const doc = await (await app().request('/api/v1/openapi.json')).json();
    const createGoal = doc.paths['/api/v1/goals'].post;
    const goal = createGoal.requestBody.content['application/json'].schema;
    expect(goal.properties.name).toMatchObject({ type: 'string', maxLength: 100 });
    expect(goal.properties.scope).toMatchObject({ enum: ['account', 'customer'] });
    const conversions = doc.paths['/api/v1/conversions'].post.requestBody.content['application/json'].schema;
    expect(conversions.properties.conversions).toMatchObject({ type: 'array', maxItems: 1000, minItems: 1 });
    const rows = doc.paths['/api/v1/uploads/{id}/rows'].get;
    expect(rows.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual([
      'path:id',
      'query:after',
      'query:limit',
      'query:status',
    ]);
    expect(
      doc.paths['/api/v1/diagnostics'].get.responses['401'].content['application/problem+json'],
    ).toBeDefined();
    const connector = doc.paths['/api/v1/connectors'].post.requestBody.content['application/json'].schema;
    const salesforce = connector.anyOf.find(
      (k: { properties: { kind: { const: string } } }) => k.properties.kind.const === 'salesforce',
    );
    expect(salesforce.required).toEqual(
      expect.arrayContaining(['kind', 'name', 'goal', 'settings', 'secrets']),
    );
    expect(salesforce.properties.secrets.required).toEqual(['clientSecret', 'refreshToken']);
    const hubspot = connector.anyOf.find(
      (k: { properties: { kind: { const: string } } }) => k.properties.kind.const === 'hubspot',
    );
    expect(hubspot.required).not.toContain('settings');
    expect(
      doc.paths['/api/v1/connectors/{idOrName}/sync'].post.parameters.map((p: { name: string }) => p.name),
    ).toEqual(['idOrName', 'full', 'wait']);
    const schedule = doc.paths['/api/v1/schedules'].post.requestBody.content['application/json'].schema;
    expect(schedule.properties.kind).toMatchObject({ enum: ['conversions', 'adjustments'] });
    expect(schedule.additionalProperties).toBe(false);
    expect(
      doc.paths['/api/v1/schedules/{ref}'].patch.requestBody.content['application/json'].schema.properties
        .paused,
    ).toMatchObject({ type: 'boolean' });
    expect(doc.paths['/api/v1/schedules/{ref}/runs'].get.parameters[1]).toMatchObject({
      name: 'limit',
      in: 'query',
    });
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('serves /docs from node_modules under a CSP without inline scripts', async () => {
    const page = await app().request('/docs');
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    const html = await page.text();
    expect(html).not.toMatch(/<script>[^<]/);
    for (const src of html.match(/(?<=(src|href)=")\/docs\/assets\/[^"]+/g)!) {
      const res = await app().request(src);
      expect(res.status, src).toBe(200);
      expect((await res.text()).length).toBeGreaterThan(10);
    }
    expect((await app().request('/docs/assets/..%2Fpackage.json')).status).toBe(404);
  });
});
