import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Emulator } from '../../src/msads/emulator/index.ts';

/**
 * An emulator on a loopback port, for submitter processes. `onRequest` sees each request as it arrives
 * (before the emulator's own handling), e.g. to time the calls. Close it when done: calls left hanging
 * are cut.
 */
export async function serveEmulator(
  emulator: Emulator,
  onRequest: (request: Request) => void = () => {},
): Promise<{ url: string; tokenUrl: string; close: () => Promise<void> }> {
  const fetch = (request: Request) => {
    onRequest(request);
    return emulator.app.fetch(request);
  };
  const { server, port } = await new Promise<{ server: ReturnType<typeof serve>; port: number }>(
    (resolve) => {
      const s = serve({ fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
        resolve({ server: s, port: info.port }),
      );
    },
  );
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    tokenUrl: `${url}/common/oauth2/v2.0/token`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}
