import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

const zones = [
  '',
  ' EasternTimeUSCanada',
  ' GreenwichMeanTimeDublinEdinburghLisbonLondon',
  ' CanberraMelbourneSydney',
  '+0530',
  '-0800',
];
const pad = (n: number) => String(n).padStart(2, '0');
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** One time in one of the nine accepted formats, chosen by i, `daysAgo` days before `now`. */
export function mixedTime(i: number, now: Date): string {
  const d = new Date(now.getTime() - (1 + (i % 80)) * 86_400_000 - (i % 86_400) * 1000);
  const [Y, M, D, h, m, s] = [
    d.getUTCFullYear(),
    d.getUTCMonth() + 1,
    d.getUTCDate(),
    d.getUTCHours(),
    d.getUTCMinutes(),
    d.getUTCSeconds(),
  ];
  const h12 = h % 12 === 0 ? 12 : h % 12;
  const ampm = h < 12 ? 'AM' : 'PM';
  const iso = `${Y}-${pad(M)}-${pad(D)}`;
  const clock = `${pad(h)}:${pad(m)}:${pad(s)}`;
  switch (i % 9) {
    case 0:
      return `${pad(M)}/${pad(D)}/${Y} ${h12}:${pad(m)}:${pad(s)} ${ampm}`;
    case 1:
      return `${months[M - 1]} ${pad(D)}, ${Y} ${h12}:${pad(m)}:${pad(s)} ${ampm}`;
    case 2:
      return `${pad(M)}/${pad(D)}/${Y} ${clock}`;
    case 3:
      return `${iso} ${clock}`;
    case 4:
      return `${iso}T${clock}`;
    case 5:
      return `${iso} ${clock}${zones[4]}`;
    case 6:
      return `${iso}T${clock}${zones[5]}`;
    case 7:
      return `${iso} ${clock}${zones[1 + (i % 3)]}`;
    default:
      return `${iso}T${clock}${zones[1 + ((i + 1) % 3)]}`;
  }
}

/** A conversions file of `rows` rows: mixed formats and zones, unique click IDs, streamed to disk. */
export async function writeConversionsCsv(path: string, rows: number, now: Date): Promise<void> {
  const out = createWriteStream(path);
  out.write('Parameters:TimeZone=EasternTimeUSCanada\r\n');
  out.write('Microsoft Click Id,Conversion Name,Conversion Time,Conversion Value,Conversion Currency\r\n');
  let chunk = '';
  for (let i = 0; i < rows; i++) {
    const click = ((i * 2654435761) >>> 0).toString(16).padStart(8, '0') + i.toString(16).padStart(24, '0');
    chunk += `${click},Purchase,"${mixedTime(i, now)}",${(i % 1000) + 0.5},USD\r\n`;
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}
