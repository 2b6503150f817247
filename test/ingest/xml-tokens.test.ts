import { describe, expect, it } from 'vitest';
import { XmlTokenScanner } from '../../src/ingest/xml-tokens.ts';

/** Whether `xml`, cut into chunks of `size` bytes, stays within `max` bytes per piece. */
function fits(xml: string, max: number, size = 7): boolean {
  const scanner = new XmlTokenScanner(max);
  const bytes = Buffer.from(xml);
  for (let at = 0; at < bytes.length; at += size)
    if (!scanner.write(bytes.subarray(at, at + size))) return false;
  return true;
}

describe('XmlTokenScanner', () => {
  const cell = (text: string) => `<row r="1"><c r="A1" t="inlineStr"><is><t>${text}</t></is></c></row>`;

  it.each([1, 3, 7, 4096])('measures text runs and tags, in chunks of %i bytes', (size) => {
    expect(fits(cell('x'.repeat(100)), 100, size)).toBe(true);
    expect(fits(cell('x'.repeat(101)), 100, size)).toBe(false);
    expect(fits(`<c r="A1" ${'a="1" '.repeat(20)}/>`, 100, size)).toBe(false);
    expect(fits(`<c r="A1" ${'a="1" '.repeat(10)}/>`, 100, size)).toBe(true);
    // Many short pieces make no long one.
    expect(fits(cell('x').repeat(10_000), 100, size)).toBe(true);
  });

  it.each([
    ['a comment', '<!--', '-->'],
    ['a CDATA section', '<![CDATA[', ']]>'],
    ['a processing instruction', '<?pi ', '?>'],
  ])('measures %s as one piece, whatever > or < it holds', (_, open, close) => {
    expect(fits(`<a>${open}${'a>b<'.repeat(30)}${close}<b/>`, 100)).toBe(false);
    expect(fits(`<a>${open}${'a>b<'.repeat(20)}${close}<b/>${'x'.repeat(90)}`, 100)).toBe(true);
  });

  it('does not end a comment at its own opening dashes', () => {
    expect(fits(`<!-->${'x'.repeat(200)}-->`, 100)).toBe(false);
  });

  it('reads the XML prolog of every part', () => {
    expect(fits('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<worksheet/>', 60)).toBe(true);
  });
});
