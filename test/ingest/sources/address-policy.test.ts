import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { addressRefusal, nonPublicKind, parseCidr } from '../../../src/ingest/sources/address-policy.ts';

describe('the SSRF guard: which addresses a source may reach', () => {
  it('names every kind of non-public address, IPv4 and IPv6', () => {
    const kinds: [string, string | undefined][] = [
      ['127.0.0.1', 'loopback'],
      ['10.1.2.3', 'private'],
      ['172.16.0.1', 'private'],
      ['172.32.0.1', undefined],
      ['192.168.1.1', 'private'],
      ['169.254.169.254', 'link-local'],
      ['100.64.0.1', 'carrier-grade NAT'],
      ['0.0.0.0', 'unspecified'],
      ['224.0.0.1', 'multicast'],
      ['8.8.8.8', undefined],
      ['::1', 'loopback'],
      ['::', 'unspecified'],
      ['fe80::1', 'link-local'],
      ['fd12:3456::1', 'unique-local'],
      ['ff02::1', 'multicast'],
      ['2606:4700::1111', undefined],
      // IPv4 inside IPv6 is judged as the IPv4 address it reaches.
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:7f00:1', 'loopback'],
      ['::ffff:a9fe:a9fe', 'link-local'],
      ['64:ff9b::a00:1', 'private'],
      ['::ffff:8.8.8.8', undefined],
    ];
    for (const [address, kind] of kinds) expect([address, nonPublicKind(address)]).toEqual([address, kind]);
  });

  it('allows everything with allowPrivate, or the networks of an allow-list', () => {
    expect(addressRefusal({ allowPrivate: false }, '10.0.0.5', 'intranet')).toMatch(
      /^intranet \(10\.0\.0\.5\) is a private address.*CLOSELOOP_ALLOW_PRIVATE_SOURCES=1/,
    );
    expect(addressRefusal({ allowPrivate: true }, '10.0.0.5', 'intranet')).toBeUndefined();
    const list = { allowPrivate: ['10.20.0.0/16', 'fd00::/8'] };
    expect(addressRefusal(list, '10.20.3.4', 'a')).toBeUndefined();
    expect(addressRefusal(list, '::ffff:10.20.3.4', 'a')).toBeUndefined();
    expect(addressRefusal(list, '10.21.0.1', 'a')).toMatch(/private address/);
    expect(addressRefusal(list, 'fd00::5', 'a')).toBeUndefined();
    expect(addressRefusal(list, '8.8.8.8', 'a')).toBeUndefined();
  });

  it('reads CLOSELOOP_ALLOW_PRIVATE_SOURCES: off by default, 1, or CIDRs; a bad one names the variable', () => {
    expect(loadConfig({}).allowPrivateSources).toBe(false);
    expect(loadConfig({ CLOSELOOP_ALLOW_PRIVATE_SOURCES: '1' }).allowPrivateSources).toBe(true);
    expect(
      loadConfig({ CLOSELOOP_ALLOW_PRIVATE_SOURCES: '10.0.0.0/8, 192.168.1.7' }).allowPrivateSources,
    ).toEqual(['10.0.0.0/8', '192.168.1.7']);
    expect(() => loadConfig({ CLOSELOOP_ALLOW_PRIVATE_SOURCES: '10.0.0.0/33' })).toThrow(
      /CLOSELOOP_ALLOW_PRIVATE_SOURCES: 1 \(allow every address\).*cannot read "10\.0\.0\.0\/33"/,
    );
    expect(parseCidr('fd00::/8')).toEqual({ net: 'fd00::', prefix: 8, type: 'ipv6' });
  });
});
