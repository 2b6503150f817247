import { avanser } from './avanser.ts';
import { calltrackingmetrics } from './calltrackingmetrics.ts';
import { dialogtech } from './dialogtech.ts';
import { generic } from './generic.ts';
import { infinity } from './infinity.ts';
import { invoca } from './invoca.ts';
import { responsetap } from './responsetap.ts';
import type { CallAdapter } from './types.ts';
import { wildjar } from './wildjar.ts';

/**
 * Every call-tracking provider closeloop receives calls from, by the name used in the CLI and in
 * webhook paths (/webhooks/<provider>/<source id>). Adapters are pure and small, so all are loaded.
 */
export const callAdapters: Record<string, CallAdapter> = {
  // One line per provider, in alphabetical order:
  // avanser, calltrackingmetrics, dialogtech, generic, infinity, invoca, responsetap, wildjar
  avanser,
  calltrackingmetrics,
  dialogtech,
  generic,
  infinity,
  invoca,
  responsetap,
  wildjar,
};
