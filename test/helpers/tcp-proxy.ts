import { createServer, type Server, Socket } from 'node:net';

export type ProxyMode = 'forward' | 'refuse' | 'blackhole';

/**
 * A TCP proxy on loopback in front of a real server (PostgreSQL), to take it away and bring it back
 * the way a network or a server does: 'refuse' closes the port (ECONNREFUSED) and cuts every
 * connection; 'blackhole' accepts connections and answers nothing, and freezes the open ones (a
 * paused server, a dropped route); 'forward' passes bytes again.
 */
export async function tcpProxy(target: { host: string; port: number }) {
  let mode: ProxyMode = 'forward';
  const pairs = new Set<[Socket, Socket | undefined]>();
  const onConnection = (client: Socket) => {
    client.on('error', () => {});
    if (mode === 'blackhole') {
      pairs.add([client, undefined]);
      return;
    }
    const upstream = new Socket();
    upstream.on('error', () => client.destroy());
    upstream.connect(target.port, target.host);
    client.pipe(upstream).pipe(client);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', drop);
    upstream.on('close', drop);
  };
  let server: Server = createServer(onConnection);
  const listen = (port: number) =>
    new Promise<number>((resolve) => {
      server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
  const port = await listen(0);
  const cutAll = () => {
    for (const [client, upstream] of pairs) {
      client.destroy();
      upstream?.destroy();
    }
    pairs.clear();
  };
  return {
    port,
    async set(next: ProxyMode) {
      if (next === mode) return;
      if (mode === 'refuse') {
        server = createServer(onConnection);
        await listen(port);
      }
      if (next === 'refuse') {
        cutAll();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      } else if (next === 'blackhole') {
        for (const [client, upstream] of pairs) {
          client.unpipe();
          upstream?.unpipe();
          client.pause();
          upstream?.pause();
        }
      } else cutAll();
      mode = next;
    },
    async close() {
      cutAll();
      if (mode !== 'refuse') await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
