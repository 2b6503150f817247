import { Hono } from 'hono';
import type { Account } from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import { type MsadsClient, MsadsError } from '../../msads/client.ts';
import type { ServiceContext } from '../../services/context.ts';
import { maxDiagnosticsDays, msadsDiagnostics } from '../../services/msads-diagnostics.ts';
import { plainText, queryParams, wholeNumber } from '../params.ts';

export const diagnosticsQuery = { goal: plainText(100), days: wholeNumber(1, maxDiagnosticsDays) };

/** GET /api/v1/diagnostics: Microsoft's own figures per goal and day (counted, not attributed and why). */
export function diagnosticsRoutes(ctx: ServiceContext, clientFor?: (account: Account) => MsadsClient) {
  return new Hono().get('/diagnostics', async (c) => {
    if (!clientFor)
      throw new AppError('service_unavailable', 'This instance cannot reach Microsoft Advertising.');
    const { goal, days } = queryParams(c, diagnosticsQuery);
    try {
      return c.json(
        await msadsDiagnostics({
          ctx,
          clientFor,
          ...(goal !== undefined ? { goal } : {}),
          ...(days !== undefined ? { days } : {}),
        }),
      );
    } catch (err) {
      if (err instanceof MsadsError) throw new AppError('service_unavailable', err.message);
      throw err;
    }
  });
}
