/**
 * A strict reader of Prometheus's text exposition format 0.0.4, for tests: every line must be a HELP,
 * a TYPE or a sample of the family announced before it; label values are unescaped; anything else
 * throws with the line. (What Prometheus itself would refuse, this refuses.)
 */

export interface ParsedFamily {
  help: string;
  type: string;
  samples: { labels: Record<string, string>; value: number }[];
}

const name = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const helpLine = new RegExp(`^# HELP (${name}) (.*)$`);
const typeLine = new RegExp(`^# TYPE (${name}) (counter|gauge|histogram|summary|untyped)$`);
const sampleLine = new RegExp(`^(${name})(\\{.*\\})? (\\S+)$`);
const labelPair = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"(,|$)/;

export function parseExposition(text: string): Map<string, ParsedFamily> {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const families = new Map<string, ParsedFamily>();
  let current: string | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    const help = helpLine.exec(line);
    if (help) {
      const [, n, h] = help;
      if (families.has(n!)) throw new Error(`family ${n} announced twice`);
      families.set(n!, { help: unescapeText(h!), type: 'untyped', samples: [] });
      current = n;
      continue;
    }
    const type = typeLine.exec(line);
    if (type) {
      if (type[1] !== current) throw new Error(`TYPE of ${type[1]} outside its family: ${line}`);
      families.get(current!)!.type = type[2]!;
      continue;
    }
    const sample = sampleLine.exec(line);
    if (!sample) throw new Error(`not a valid exposition line: ${JSON.stringify(line)}`);
    const [, n, rawLabels, rawValue] = sample;
    if (n !== current) throw new Error(`sample of ${n} outside its family: ${line}`);
    const value = rawValue === '+Inf' ? Infinity : rawValue === '-Inf' ? -Infinity : Number(rawValue);
    if (Number.isNaN(value) && rawValue !== 'NaN') throw new Error(`bad value in ${line}`);
    families.get(n!)!.samples.push({ labels: parseLabels(rawLabels ?? '', line), value });
  }
  return families;
}

function parseLabels(raw: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  if (raw === '') return labels;
  let rest = raw.slice(1, -1);
  while (rest.length > 0) {
    const m = labelPair.exec(rest);
    if (!m) throw new Error(`bad labels in ${line}`);
    if (m[1]! in labels) throw new Error(`label ${m[1]} twice in ${line}`);
    labels[m[1]!] = unescapeText(m[2]!);
    rest = rest.slice(m[0].length);
  }
  return labels;
}

const unescapeText = (text: string) => text.replace(/\\(\\|"|n)/g, (_, c: string) => (c === 'n' ? '\n' : c));
