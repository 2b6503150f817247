import { start } from './core.ts';
import type { CloseloopApi, SnippetOptions } from './options.ts';

export { CLICK_ID, isClickId } from './click-id.ts';
export type { CloseloopApi, Command, SnippetOptions } from './options.ts';

/**
 * The ES module build for bundlers: `const closeloop = init({ cookieDomain: 'example.com' })`. It behaves
 * like the script tag with the same settings; it sets a global only when `options.global` names one.
 * A second call (or a script tag on the same page) returns the instance already running.
 */
export function init(options: SnippetOptions = {}): CloseloopApi {
  const settings: Record<string, string | undefined> = {
    'cookie-days': options.cookieDays?.toString(),
    domain: options.cookieDomain,
    fields: options.fields?.join(),
    selector: options.selector,
    'time-field': options.timeField,
    'add-field': options.addField,
    consent: options.waitForConsent ? 'wait' : undefined,
    gpc: options.respectGpc ? '' : undefined,
    endpoint: options.endpoint,
  };
  return start((name) => settings[name], options.global);
}
