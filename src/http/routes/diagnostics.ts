import { Hono } from 'hono';
import type { Account } from '../../db/schema/index.ts';
import { AppError } from '../../errors.ts';
import { type MsadsClient, MsadsError } from '../../msads/client.ts';
import type { ServiceContext } from '../../services/context.ts';
import { maxDiagnosticsDays, msadsDiagnostics } from '../../services/msads-diagnostics.ts';
import { jsonObject, type RouteDoc } from '../openapi.ts';
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

export const diagnosticsDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/diagnostics',
    tag: 'diagnostics',
    summary: "Microsoft's own figures per goal and day: counted, not attributed and why",
    description:
      'Asks Microsoft (GetOfflineConversionReportByGoalIds, GetOfflineConversionReports); in a dry run, the built-in emulator.',
    query: diagnosticsQuery,
    responses: {
      200: {
        description:
          '`{ from, to, goals: [{ goal, counted, unattributed, reasons, days }], accounts, notes }`',
        schema: jsonObject,
      },
      400: { description: 'A bad query parameter.' },
      404: { description: 'No goal of that name.' },
    },
  },
];
