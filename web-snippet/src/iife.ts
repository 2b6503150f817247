import { start } from './core.ts';

// The one-line embed: settings come from the script tag's data- attributes, the API goes on window.
try {
  const script = document.currentScript;
  const config = (name: string) => script?.getAttribute(`data-${name}`);
  start(config, config('global') || 'closeloop');
} catch {}
