import { Hono } from 'hono';
import { verifyHubspotSignatureV3 } from '../../../connectors/hubspot/webhook-signature.ts';
import { isUuid } from '../../domain/identifiers.ts';
import { AppError } from '../../errors.ts';
import type { AddressPolicy } from '../../ingest/sources/address-policy.ts';
import type { Logger } from '../../log.ts';
import type { Secrets } from '../../secrets.ts';
import { syncSoon } from '../../services/connector-schedule.ts';
import { type DealSourceFactory, getConnector, readSecrets } from '../../services/connectors.ts';
import type { ServiceContext } from '../../services/context.ts';
import { payloadTooLarge, readBody } from '../body.ts';
import { problem } from '../problem.ts';

/** HubSpot sends at most 100 events per request; 1 MiB is far above that. */
const maxWebhookBytes = 1024 * 1024;

/**
 * POST /webhooks/hubspot/:connectorId — HubSpot's deal events for a connector that has a webhook secret
 * (the app's client secret). The signature v3 is checked over the raw body before anything of it is
 * parsed; a valid request starts a sync of the connector (not awaited: HubSpot wants an answer within
 * 5 s) and is answered 202. The events themselves are not needed: the sync reads what changed.
 */
export function hubspotWebhookRoutes(
  ctx: ServiceContext,
  deps: { secrets: Secrets; log: Logger; policy: AddressPolicy; sources?: DealSourceFactory },
) {
  const { secrets, log, policy, sources } = deps;
  const unknown = () =>
    new AppError('not_found', 'No HubSpot connector with a webhook secret at this address.');
  return new Hono().post('/:connectorId', async (c) => {
    const id = c.req.param('connectorId');
    if (!isUuid(id)) throw unknown();
    const connector = await getConnector({ ctx, idOrName: id }).catch(() => {
      throw unknown();
    });
    const clientSecret =
      connector.kind === 'hubspot' ? readSecrets(connector, secrets).webhookSecret : undefined;
    if (typeof clientSecret !== 'string') throw unknown();
    const body = await readBody(c, maxWebhookBytes, () =>
      payloadTooLarge(
        maxWebhookBytes,
        'A HubSpot webhook request',
        'HubSpot sends at most 100 events per request.',
      ),
    );
    const check = verifyHubspotSignatureV3({
      clientSecret,
      method: c.req.method,
      uri: c.req.url,
      body,
      signature: c.req.header('x-hubspot-signature-v3'),
      timestamp: c.req.header('x-hubspot-request-timestamp'),
      now: ctx.now(),
    });
    if (!check.ok) {
      log.warn('hubspot webhook refused', { connector: connector.name, reason: check.reason });
      return problem(c, 'unauthorized', `HubSpot signature v3 check failed: ${check.reason}.`);
    }
    void syncSoon({
      ctx,
      secrets,
      log,
      id: connector.id,
      trigger: 'webhook',
      policy,
      ...(sources ? { sources } : {}),
    });
    return c.json({ accepted: true }, 202);
  });
}
