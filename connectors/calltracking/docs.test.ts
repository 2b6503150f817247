/** The templates docs/call-tracking-providers.md tells users to paste are read by the adapters they are for. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { avanser } from './avanser.ts';
import { dialogtech } from './dialogtech.ts';
import { infinity, infinityMapping } from './infinity.ts';
import { invoca } from './invoca.ts';
import { parseOne } from './test-support.ts';

const docs = readFileSync(new URL('../../docs/call-tracking-providers.md', import.meta.url), 'utf8');
const section = (title: string) => docs.split(/^## /m).find((part) => part.startsWith(title))!;
const block = (text: string) => /```(?:json|sh)?\n([\s\S]*?)```/.exec(text)![1]!;

/** What a provider would put in each parameter, by our parameter names. */
const sample: Record<string, string> = {
  transaction_id: 'FE7F3A51-11111111',
  corrects_transaction_id: '',
  start_time_utc: '1714571110000',
  calling_phone_number: '866-555-1234',
  duration: '185',
  connect_duration: '160',
  revenue: '25.00',
  msclkid: 'f894f652ea334e739002f7167ab8f8e3',
  landing_page: 'https://ex.com/?msclkid=f894f652ea334e739002f7167ab8f8e3',
  id: '1714571110.12345',
  start: '2024-05-01 23:45:10',
  caller: '+61412345678',
  status: 'ANSWERED',
  landing: 'https://ex.com.au/?msclkid=f894f652ea334e739002f7167ab8f8e3',
  call_id: '88812345',
  start_time: '2024-05-01 08:45:10',
  call_duration: '185',
};

describe('docs/call-tracking-providers.md', () => {
  it("Invoca's body template", () => {
    const template = JSON.parse(block(section('Invoca'))) as Record<string, string>;
    const filled = Object.fromEntries(Object.keys(template).map((key) => [key, sample[key]!]));
    const call = parseOne(invoca, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(filled),
    });
    expect(call).toMatchObject({
      providerCallId: 'FE7F3A51-11111111',
      durationSec: 185,
      talkSec: 160,
      value: '25.00',
    });
    expect(call.msclkid).toBe(sample.msclkid);
  });

  it("Avanser's mapping", () => {
    const template = JSON.parse(block(section('Avanser'))) as Record<string, string>;
    const filled = Object.fromEntries(Object.keys(template).map((key) => [key, sample[key]!]));
    const call = parseOne(avanser, { body: JSON.stringify(filled) }, { timeZone: 'Australia/Sydney' });
    expect(call).toMatchObject({
      providerCallId: '1714571110.12345',
      answered: true,
      msclkid: sample.msclkid,
    });
    expect(call.startUtc).toEqual(new Date('2024-05-01T13:45:10Z'));
  });

  it("DialogTech's URL template", () => {
    const url = new URL(block(section('DialogTech')).trim());
    const query = Object.fromEntries(
      [...url.searchParams.keys()].map((key) => [key, sample[key] ?? 'token']),
    );
    const call = parseOne(dialogtech, { method: 'GET', query }, { timeZone: 'America/Chicago' });
    expect(call).toMatchObject({ providerCallId: '88812345', durationSec: 185, msclkid: sample.msclkid });
    expect(call.startUtc).toEqual(new Date('2024-05-01T13:45:10Z'));
  });

  it("Infinity's Param Mappings and preview", () => {
    const preview = /`(…\/webhooks\/infinity\/[^`]+)`/.exec(section('Infinity'))![1]!.replace(/…$/, '');
    const url = new URL(preview.replace('…', 'https://closeloop.example.com').replace('token=…', 'token=t'));
    const call = parseOne(infinity, { method: 'GET', query: Object.fromEntries(url.searchParams) });
    expect(call).toMatchObject({
      providerCallId: 'ABC123',
      durationSec: 185,
      talkSec: 160,
      callerE164: '+447700900123',
    });
    const parameters = [...section('Infinity').matchAll(/^\| [^|]+ \| (`[^|]+`)[^|]* \|$/gm)].flatMap((row) =>
      [...row[1]!.matchAll(/`([^`]+)`/g)].map((name) => name[1]!),
    );
    expect(parameters).toEqual([
      'callRef',
      'telcoCallRef',
      'dt',
      'srcPhoneNumber',
      'callDuration',
      'bridgeDuration',
      'landingPageUrl',
      'pt_msclkid',
      'txv',
      'txc',
    ]);
    // Each is a name the adapter reads without --field.
    const read = new Set(Object.values(infinityMapping.names).flat());
    expect(parameters.filter((name) => !read.has(name))).toEqual([]);
  });
});
