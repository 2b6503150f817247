import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { type AddressPolicy, addressRefusal } from './address-policy.ts';
import { networkError, SourceError } from './source-error.ts';

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for node's net, tls and http: resolves as dns.lookup does, then keeps only the addresses
 * `policy` allows, so the socket can only connect to one of those (no second resolution between the
 * check and the connection for a rebinding DNS server to exploit). Node calls it for every connection,
 * redirects included; an IP literal in a URL skips it, so callers check those with `checkLiteral`.
 */
export function guardedLookup(policy: AddressPolicy) {
  return function lookup(hostname: string, options: unknown, callback: LookupCallback): void {
    const opts = (typeof options === 'object' && options ? options : {}) as {
      family?: number;
      all?: boolean;
    };
    dnsLookup(hostname, { family: opts.family ?? 0, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      const allowed = addresses.filter((a) => addressRefusal(policy, a.address, hostname) === undefined);
      if (allowed.length === 0) {
        const refusal = addressRefusal(policy, addresses[0]!.address, hostname)!;
        return callback(new SourceError('private_address', refusal) as never, '');
      }
      if (opts.all) return callback(null, allowed);
      return callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
}

/** A host written as an IP address (no lookup happens for it): refused when `policy` refuses it. */
export function checkLiteral(policy: AddressPolicy, host: string): void {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (isIP(bare) === 0) return;
  const refusal = addressRefusal(policy, bare, host);
  if (refusal) throw new SourceError('private_address', refusal);
}

/**
 * The address to connect to for `host` (for clients that take no lookup function: ssh2, basic-ftp):
 * resolved once and checked; the client then connects to that address, not to the name.
 */
export async function resolveAllowed(policy: AddressPolicy, host: string, where: string): Promise<string> {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (isIP(bare) !== 0) {
    checkLiteral(policy, bare);
    return bare;
  }
  return new Promise((resolve, reject) => {
    guardedLookup(policy)(bare, {}, (err, address) => {
      if (err) reject(err instanceof SourceError ? err : networkError(err, where));
      else resolve(address as string);
    });
  });
}
