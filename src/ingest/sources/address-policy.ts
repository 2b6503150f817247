import { BlockList, isIP } from 'node:net';

/**
 * The server-side request forgery guard of scheduled sources: the addresses a source may connect to.
 * A schedule's URL is typed by a user, and closeloop runs next to a database, a metadata service
 * (169.254.169.254) and other internal services that trust their network: by default no connection
 * goes to an address that is not public. The check is made on each *resolved* address, for every
 * connection and every redirect, so a public name that resolves to 127.0.0.1 (or a redirect to one) is
 * refused too.
 */
export interface AddressPolicy {
  /** true: every address (CLOSELOOP_ALLOW_PRIVATE_SOURCES=1); otherwise the non-public ranges allowed. */
  allowPrivate: boolean | readonly string[];
}

/** Non-public ranges (RFC 6890 and friends), each with the word used in error messages. */
const ranges: [string, number, 'ipv4' | 'ipv6', string][] = [
  ['0.0.0.0', 8, 'ipv4', 'unspecified'],
  ['10.0.0.0', 8, 'ipv4', 'private'],
  ['100.64.0.0', 10, 'ipv4', 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local'],
  ['172.16.0.0', 12, 'ipv4', 'private'],
  ['192.0.0.0', 24, 'ipv4', 'reserved'],
  ['192.168.0.0', 16, 'ipv4', 'private'],
  ['198.18.0.0', 15, 'ipv4', 'reserved'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['fec0::', 10, 'ipv6', 'site-local'],
  ['fc00::', 7, 'ipv6', 'unique-local'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];

const lists = ranges.map(([net, prefix, type, word]) => {
  const list = new BlockList();
  list.addSubnet(net, prefix, type);
  return { list, type, word };
});

/**
 * An IPv4 address carried in an IPv6 one (::ffff:127.0.0.1, ::ffff:7f00:1, NAT64 64:ff9b::7f00:1) as
 * IPv4, so that it is judged as the address it reaches; any other address as it is.
 */
export function unwrapAddress(address: string): { address: string; type: 'ipv4' | 'ipv6' } {
  if (isIP(address) === 4) return { address, type: 'ipv4' };
  const bytes = ipv6Bytes(address);
  if (bytes) {
    const head = bytes.subarray(0, 12);
    const mapped = head.subarray(0, 10).every((b) => b === 0) && head[10] === 0xff && head[11] === 0xff;
    const nat64 =
      bytes[0] === 0x00 &&
      bytes[1] === 0x64 &&
      bytes[2] === 0xff &&
      bytes[3] === 0x9b &&
      head.subarray(4).every((b) => b === 0);
    if (mapped || nat64) return { address: [...bytes.subarray(12)].join('.'), type: 'ipv4' };
  }
  return { address, type: 'ipv6' };
}

/** The 16 bytes of an IPv6 address (with :: and a dotted IPv4 tail), or undefined if it is none. */
function ipv6Bytes(address: string): Uint8Array | undefined {
  if (isIP(address) !== 6) return undefined;
  let text = address.replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -dotted[1]!.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [left, right] = text.split('::') as [string, string | undefined];
  const l = left ? left.split(':') : [];
  const r = right ? right.split(':') : [];
  const groups = right === undefined ? l : [...l, ...Array(8 - l.length - r.length).fill('0'), ...r];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = Number.parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  });
  return out;
}

/** The kind of non-public address `address` is ("loopback", "private" …), or undefined when public. */
export function nonPublicKind(address: string): string | undefined {
  const { address: ip, type } = unwrapAddress(address);
  return lists.find((l) => l.type === type && l.list.check(ip, type))?.word;
}

/** A CIDR ("10.0.0.0/8", "fd00::/8", or one address) as the allow-list takes it; undefined when unreadable. */
export function parseCidr(text: string): { net: string; prefix: number; type: 'ipv4' | 'ipv6' } | undefined {
  const [net = '', bits, extra] = text.trim().split('/');
  if (extra !== undefined) return undefined;
  const version = isIP(net);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : Number.NaN;
  if (!(prefix >= 0 && prefix <= max)) return undefined;
  return { net, prefix, type: version === 4 ? 'ipv4' : 'ipv6' };
}

/**
 * Why `address` may not be connected to under `policy` (a sentence naming the address and its kind,
 * and how to allow it), or undefined when it may. `host` is the name the user wrote, for the message.
 */
export function addressRefusal(policy: AddressPolicy, address: string, host: string): string | undefined {
  const kind = nonPublicKind(address);
  if (kind === undefined || policy.allowPrivate === true) return undefined;
  if (policy.allowPrivate !== false) {
    const { address: ip, type } = unwrapAddress(address);
    const allowed = new BlockList();
    for (const cidr of policy.allowPrivate) {
      const c = parseCidr(cidr);
      if (c) allowed.addSubnet(c.net, c.prefix, c.type);
    }
    if (allowed.check(ip, type) || (type === 'ipv6' ? false : allowed.check(`::ffff:${ip}`, 'ipv6')))
      return undefined;
  }
  const named = host === address || host === `[${address}]` ? address : `${host} (${address})`;
  return `${named} is a ${kind} address, and sources on non-public addresses are refused by default (server-side request forgery guard). For a source on your intranet, set CLOSELOOP_ALLOW_PRIVATE_SOURCES=1, or to a comma-separated list of the networks allowed, e.g. 10.20.0.0/16.`;
}
