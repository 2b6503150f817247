import type { ConnectionGuard } from '../../../connectors/deals.ts';
import type { AddressPolicy } from './address-policy.ts';
import { checkLiteral, guardedLookup, resolveAllowed } from './guarded-lookup.ts';
import { SourceError } from './source-error.ts';

/** A refused connection as connectors/deals.ts's ConnectionGuard says: code 'private_address'. */
class AddressRefused extends Error {
  override name = 'AddressRefused';
  readonly code = 'private_address';
}

function asRefusal(err: unknown): unknown {
  return err instanceof SourceError && err.failure === 'private_address'
    ? new AddressRefused(err.message)
    : err;
}

/**
 * The address policy of scheduled sources, for CRM connectors (connectors/ may not import src/): a
 * lookup that yields only the addresses `policy` allows, used by the SDKs on every connection, and the
 * check of hosts written as IP addresses (no lookup happens for those).
 */
export function connectionGuard(policy: AddressPolicy): ConnectionGuard {
  const lookup = guardedLookup(policy);
  return {
    lookup: (hostname, options, callback) =>
      lookup(hostname, options, (err, address, family) =>
        (callback as (...args: unknown[]) => void)(err ? asRefusal(err) : null, address, family),
      ),
    checkLiteral(host) {
      try {
        checkLiteral(policy, host);
      } catch (err) {
        throw asRefusal(err);
      }
    },
  };
}

/**
 * A connector's login or base URL, checked when it is added: refused at once (SourceError
 * 'private_address', naming CLOSELOOP_ALLOW_PRIVATE_SOURCES) when its host is an address the policy
 * refuses or a name that resolves only to such addresses. A name that does not resolve now is left to
 * the first sync (a DNS failure is not a reason to refuse a connector); every connection is checked then.
 */
export async function checkConnectorUrl(policy: AddressPolicy, url: string, setting: string): Promise<void> {
  const { hostname, protocol, host } = new URL(url);
  try {
    await resolveAllowed(policy, hostname, `${protocol}//${host}`);
  } catch (err) {
    if (err instanceof SourceError && err.failure === 'private_address')
      throw new SourceError('private_address', `${setting} ${url}: ${err.message}`);
  }
}
