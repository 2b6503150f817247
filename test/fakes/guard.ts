import type { ConnectionGuard } from '../../connectors/deals.ts';
import type { AddressPolicy } from '../../src/ingest/sources/address-policy.ts';
import { connectionGuard } from '../../src/ingest/sources/connection-guard.ts';

/** The fakes listen on 127.0.0.1: connectors in tests run with CLOSELOOP_ALLOW_PRIVATE_SOURCES=1's policy. */
export const allowLoopback: AddressPolicy = { allowPrivate: true };

/** The policy of a closeloop with CLOSELOOP_ALLOW_PRIVATE_SOURCES unset. */
export const defaultPolicy: AddressPolicy = { allowPrivate: false };

/** The guard connectors get under `allowLoopback`. */
export const openGuard: ConnectionGuard = connectionGuard(allowLoopback);

/** The guard connectors get under `policy`. */
export function guardFor(policy: AddressPolicy): ConnectionGuard {
  return connectionGuard(policy);
}

/**
 * `openGuard`, whose lookup alone knows `name` (a .invalid name no DNS resolves) as 127.0.0.1: a
 * connector pointed at `name` works only if every one of its connections goes through the guard.
 */
export function onlyGuardResolves(name: string): ConnectionGuard {
  return {
    lookup: (hostname, options, callback) =>
      openGuard.lookup(hostname === name ? '127.0.0.1' : hostname, options, callback),
    checkLiteral: (host) => openGuard.checkLiteral(host),
  };
}
