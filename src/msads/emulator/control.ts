import { type Context, Hono } from 'hono';
import type { EmulatorEnv } from './call.ts';
import type { Emulator, GoalSpec } from './types.ts';

/*
 * /_emulator/*: the in-process control methods over HTTP, so a test or benchmark can drive an emulator
 * running in another process. No authentication: the emulator is a local test tool.
 */

async function jsonBody(c: Context<EmulatorEnv>): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  const value: unknown = JSON.parse(text);
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new TypeError('The body must be a JSON object.');
  return value as Record<string, unknown>;
}

function date(value: unknown, field: string): Date {
  const d = new Date(value as string);
  if (typeof value !== 'string' || Number.isNaN(d.getTime()))
    throw new TypeError(`${field} must be an ISO 8601 date-time; got ${JSON.stringify(value)}`);
  return d;
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '')
    throw new TypeError(`${field} must be a non-empty string; got ${JSON.stringify(value)}`);
  return value;
}

export function controlRoutes(emulator: Emulator): Hono<EmulatorEnv> {
  const app = new Hono<EmulatorEnv>();
  // A bad control request is the caller's mistake: 400 with what was wrong.
  app.onError((err, c) =>
    err instanceof TypeError || err instanceof SyntaxError
      ? c.json({ error: err.message }, 400)
      : c.json({ error: 'internal error' }, 500),
  );
  const done = (c: Context<EmulatorEnv>) => c.json({ ok: true });

  app.get('/stats', (c) => c.json(emulator.stats()));
  app.get('/conversions', (c) =>
    c.json(
      ['1', 'true'].includes(c.req.query('summary') ?? '')
        ? emulator.conversionSummary()
        : emulator.conversions(),
    ),
  );
  // Which of these conversions are stored, by index: a benchmark compares them with its ledger.
  app.post('/conversions/held', async (c) => {
    const body = await jsonBody(c);
    const customerId = text(body.customerId, 'customerId');
    const accountId = text(body.accountId, 'accountId');
    if (!Array.isArray(body.conversions))
      throw new TypeError(`conversions must be an array; got ${JSON.stringify(body.conversions)}`);
    const held = body.conversions.map((item: Record<string, unknown>, i: number) =>
      emulator.holdsConversion({
        customerId,
        accountId,
        conversionName: text(item?.ConversionName, `conversions[${i}].ConversionName`),
        microsoftClickId: text(item?.MicrosoftClickId, `conversions[${i}].MicrosoftClickId`),
        conversionTime: text(item?.ConversionTime, `conversions[${i}].ConversionTime`),
      }),
    );
    return c.json({ held });
  });
  app.get('/adjustments', (c) => c.json(emulator.adjustments()));
  app.get('/goals', (c) => c.json(emulator.goals(c.req.query('customerId'))));
  app.post('/goals', async (c) => {
    const body = await jsonBody(c);
    const spec = { ...body } as unknown as GoalSpec;
    if (body.createdAt !== undefined) spec.createdAt = date(body.createdAt, 'createdAt');
    return c.json(emulator.addGoal(spec), 201);
  });
  app.post('/faults', async (c) => {
    emulator.injectFault((await jsonBody(c)) as never);
    return done(c);
  });
  app.delete('/faults', (c) => {
    emulator.clearFaults();
    return done(c);
  });
  app.post('/refresh-tokens', async (c) => {
    const { clientId } = await jsonBody(c);
    const opts = clientId === undefined ? {} : { clientId: text(clientId, 'clientId') };
    return c.json({ refresh_token: emulator.issueRefreshToken(opts) }, 201);
  });
  app.post('/revoke-refresh-token', async (c) => {
    emulator.revokeRefreshToken(text((await jsonBody(c)).refresh_token, 'refresh_token'));
    return done(c);
  });
  app.post('/expire-access-tokens', (c) => {
    emulator.expireAccessTokens();
    return done(c);
  });
  app.post('/poison', async (c) => {
    emulator.poisonClickId(text((await jsonBody(c)).clickId, 'clickId'));
    return done(c);
  });
  app.post('/clicks', async (c) => {
    const body = await jsonBody(c);
    emulator.addClick(text(body.clickId, 'clickId'), date(body.at, 'at'));
    return done(c);
  });
  app.post('/auto-tagging', async (c) => {
    const body = await jsonBody(c);
    if (typeof body.enabled !== 'boolean')
      throw new TypeError(`enabled must be true or false; got ${JSON.stringify(body.enabled)}`);
    emulator.setAutoTagging(
      text(body.customerId, 'customerId'),
      text(body.accountId, 'accountId'),
      body.enabled,
    );
    return done(c);
  });
  app.get('/requests', (c) => c.json(emulator.requests));
  app.post('/reset', (c) => {
    emulator.reset();
    return done(c);
  });
  return app;
}
