const levels = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof levels;

export interface Logger {
  debug(msg: string, data?: unknown): void;
  info(msg: string, data?: unknown): void;
  warn(msg: string, data?: unknown): void;
  error(msg: string, data?: unknown): void;
}

/** One line of JSON per event on stderr, so stdout stays free for CLI output. */
export function createLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = (l) => process.stderr.write(l),
): Logger {
  const at = (name: Exclude<LogLevel, 'silent'>) => (msg: string, data?: unknown) => {
    if (levels[name] < levels[level]) return;
    const extra = data instanceof Error ? { error: data.message, stack: data.stack } : data;
    write(`${JSON.stringify({ time: new Date().toISOString(), level: name, msg, ...(extra as object) })}\n`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
