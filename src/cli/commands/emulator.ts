import type { LogLevel } from '../../log.ts';
import type { Emulator, EmulatorOptions, FaultKind } from '../../msads/emulator/types.ts';
import { CliError } from '../cli-error.ts';
import type { Command } from '../command.ts';

const usage = `closeloop emulator [--port N] [--host H] [--calls-per-minute N] [--auth open|strict]
                          [--fault-rate R] [--fault-kinds K,…] [--seed S] [--record all|none|N]
                          [--customer-id ID] [--goal NAME ...]

  Runs a Microsoft Advertising emulator (Campaign Management REST and the OAuth token endpoint, in
  memory) for dry runs, tests and benchmarks. Point closeloop at it with
    MSADS_API_BASE_URL=http://127.0.0.1:PORT
    MSADS_OAUTH_TOKEN_URL=http://127.0.0.1:PORT/common/oauth2/v2.0/token
  Control endpoints live under /_emulator/ (stats, conversions?summary=1, goals, faults, requests, reset).`;

const isLogLevel = (v: string | undefined): v is LogLevel =>
  v === 'debug' || v === 'info' || v === 'warn' || v === 'error' || v === 'silent';

function integer(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new CliError(`--${name} must be a whole number from ${min} to ${max}; got "${value}".`);
  return n;
}

function emulatorOptions(values: Record<string, unknown>): EmulatorOptions {
  const auth = values.auth ?? 'open';
  if (auth !== 'open' && auth !== 'strict')
    throw new CliError(`--auth must be open or strict; got "${auth}".`);
  const record = values.record ?? 'all';
  const options: EmulatorOptions = {
    auth,
    record: record === 'all' || record === 'none' ? record : integer(record, 'record', 0, 1_000_000)!,
  };
  const callsPerMinute = integer(values['calls-per-minute'], 'calls-per-minute', 1, 1_000_000);
  if (callsPerMinute !== undefined) options.callsPerMinute = callsPerMinute;
  const seed = integer(values.seed, 'seed', 0, 2 ** 31 - 1);
  if (seed !== undefined) options.seed = seed;
  return options;
}

const rateKinds: readonly FaultKind[] = ['http500', 'applied500', 'error0', '5612', 'timeout'];

function faultKinds(value: unknown): FaultKind[] {
  if (value === undefined) return ['http500', 'error0', '5612'];
  const kinds = String(value).split(',');
  const unknown = kinds.filter((k) => !rateKinds.includes(k as FaultKind));
  if (kinds.length === 0 || unknown.length > 0)
    throw new CliError(
      `--fault-kinds takes a comma-separated list of ${rateKinds.join(', ')}; got "${String(value)}".`,
    );
  return kinds as FaultKind[];
}

/** Faults that together fail a call with probability `rate`, one kind as likely as another. */
function injectFaultRate(emulator: Emulator, rate: number, kinds: readonly FaultKind[]): void {
  const share = rate / kinds.length;
  // Each later fault only sees the calls the earlier ones let through, so its own rate is scaled up.
  for (const [i, kind] of kinds.entries()) emulator.injectFault({ kind, rate: share / (1 - i * share) });
}

export const emulatorCommand: Command = {
  name: 'emulator',
  summary: 'Run a Microsoft Advertising emulator (dry runs, tests, benchmarks).',
  usage,
  options: {
    port: {
      type: 'string',
      value: 'N',
      description:
        'the port; 0 picks a free one (default 8790). The first stdout line is {"event":"listening","url":…} for a parent process to read',
    },
    host: { type: 'string', value: 'H', description: 'the address to listen on (default 127.0.0.1)' },
    'calls-per-minute': {
      type: 'string',
      value: 'N',
      description: 'answer 117 (CallRateExceeded) beyond N calls per sliding minute (default unlimited)',
    },
    auth: {
      type: 'string',
      value: 'open|strict',
      description: 'open (default): any token is accepted; strict: only tokens the emulator issued',
    },
    'fault-rate': {
      type: 'string',
      value: 'R',
      description: 'probability 0..1 that a call fails, each of the --fault-kinds as likely',
    },
    'fault-kinds': {
      type: 'string',
      value: 'K,…',
      description:
        'the faults --fault-rate injects (default http500,error0,5612); also applied500 (the batch is stored, then the answer is HTTP 500) and timeout (hangs, then 504)',
    },
    seed: { type: 'string', value: 'S', description: 'the seed of the fault dice, for repeatable runs' },
    record: {
      type: 'string',
      value: 'all|none|N',
      description: 'which requests /_emulator/requests keeps: all (default), none, or the last N',
    },
    'customer-id': {
      type: 'string',
      value: 'ID',
      description: "the customer the --goal goals belong to (default 1000000; use MSADS_CUSTOMER_ID's)",
    },
    goal: {
      type: 'string',
      multiple: true,
      value: 'NAME',
      description:
        'create a Customer-scope offline goal, 1 day old so it takes conversions at once (repeat for more goals)',
    },
  },
  async run({ values }) {
    const [{ serve }, { createLogger }, { createEmulator }] = await Promise.all([
      import('@hono/node-server'),
      import('../../log.ts'),
      import('../../msads/emulator/index.ts'),
    ]);
    const level = process.env.LOG_LEVEL;
    const log = createLogger(isLogLevel(level) ? level : 'info');
    const port = integer(values.port, 'port', 0, 65_535) ?? 8790;
    const host = String(values.host ?? '127.0.0.1');
    const customerId = String(values['customer-id'] ?? '1000000');
    if (!/^\d+$/.test(customerId)) throw new CliError(`--customer-id must be numeric; got "${customerId}".`);
    const faultRate = values['fault-rate'] === undefined ? 0 : Number(values['fault-rate']);
    if (!(faultRate >= 0 && faultRate <= 1))
      throw new CliError(`--fault-rate must be a number from 0 to 1; got "${values['fault-rate']}".`);

    const kinds = faultKinds(values['fault-kinds']);

    const options = emulatorOptions(values);
    const emulator = createEmulator(options);
    if (faultRate > 0) injectFaultRate(emulator, faultRate, kinds);
    const dayAgo = new Date(Date.now() - 24 * 60 * 60 * 1000);
    const goals = (values.goal ?? []) as unknown as string[];
    for (const name of goals) emulator.addGoal({ customerId, name, scope: 'Customer', createdAt: dayAgo });
    const refreshToken = emulator.issueRefreshToken();

    const server = serve({ fetch: emulator.app.fetch, port, hostname: host }, (info) => {
      const url = `http://${host.includes(':') ? `[${host}]` : host}:${info.port}`;
      const tokenUrl = `${url}/common/oauth2/v2.0/token`;
      process.stdout.write(`${JSON.stringify({ event: 'listening', url, tokenUrl, refreshToken })}\n`);
      log.info('Microsoft Advertising emulator is listening', {
        url,
        auth: options.auth,
        callsPerMinute: options.callsPerMinute ?? 'unlimited',
        faultRate,
        faultKinds: kinds,
        goals,
        customerId,
      });
      log.info(
        `point closeloop at it: MSADS_API_BASE_URL=${url} MSADS_OAUTH_TOKEN_URL=${tokenUrl} MSADS_REFRESH_TOKEN=${refreshToken} MSADS_CUSTOMER_ID=${customerId}`,
      );
    });

    return new Promise<number>((resolve) => {
      server.once('error', (err) => {
        log.error(`the emulator could not listen on ${host}:${port}`, err);
        resolve(1);
      });
      const stop = (signal: NodeJS.Signals) => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        log.info('stopping', { signal, stats: emulator.stats() });
        server.close(() => resolve(0));
        // Keep-alive connections and hanging (timeout-fault) requests must not hold the shutdown.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  },
};
