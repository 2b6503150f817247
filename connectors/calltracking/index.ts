import { avanserAdapter } from './avanser.ts';
import { dialogtechAdapter } from './dialogtech.ts';
import { infinityAdapter } from './infinity.ts';
import { invocaAdapter } from './invoca.ts';
import { responsetapAdapter } from './responsetap.ts';
import type { CallAdapter } from './types.ts';
import { wildjarAdapter } from './wildjar.ts';

/**
 * Every call-tracking provider closeloop receives calls from, by the name used in the CLI and in
 * webhook paths (/webhooks/<provider>/<source id>). Adapters are pure and small, so all are loaded.
 */
export const callAdapters: Record<string, CallAdapter> = {
  // One line per provider, in alphabetical order:
  // avanser, calltrackingmetrics, dialogtech, generic, infinity, invoca, responsetap, wildjar
  avanser: avanserAdapter,
  dialogtech: dialogtechAdapter,
  infinity: infinityAdapter,
  invoca: invocaAdapter,
  responsetap: responsetapAdapter,
  wildjar: wildjarAdapter,
};
