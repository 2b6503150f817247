/**
 * Every request jsforce makes goes through the connection guard of its connection (connectors/deals.ts
 * ConnectionGuard): the login URL, the instance URL the token endpoint names, redirects. jsforce v3 sends
 * through undici's fetch with one module-wide dispatcher (jsforce/lib/request setDispatcher) and takes no
 * per-connection agent, so that dispatcher routes each request to the agent of the connection that made
 * it (an AsyncLocalStorage entered around the connection's transport), and refuses a request made
 * outside one. Each agent connects with the guard's `lookup` (the socket can only reach an allowed
 * address: no DNS rebinding between a check and the connection) and checks hosts written as IP addresses.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { setDispatcher } from 'jsforce/lib/request.js';
import { Agent, buildConnector, Dispatcher } from 'undici';
import { type ConnectionGuard, guardRefusal } from '../deals.ts';

const current = new AsyncLocalStorage<Dispatcher>();

/** A request outside a guarded connection (jsforce used some other way): it never leaves. */
const refuseAll = new Agent({
  connect: (_options, callback) =>
    callback(
      new Error(
        'closeloop refuses a Salesforce request made outside a connector connection (no address guard).',
      ),
      null,
    ),
});

class RoutedDispatcher extends Dispatcher {
  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return (current.getStore() ?? refuseAll).dispatch(options, handler);
  }
}

let installed = false;
function install(): void {
  if (installed) return;
  setDispatcher(new RoutedDispatcher());
  installed = true;
}

/** An undici agent whose every connection `guard` checks (as jsforce's own: no HTTP/2). */
export function guardedAgent(guard: ConnectionGuard): Agent {
  const connect = buildConnector({ allowH2: false, lookup: guard.lookup as never });
  return new Agent({
    connect: (options, callback) => {
      try {
        guard.checkLiteral(options.hostname);
      } catch (err) {
        return callback(err as Error, null);
      }
      return connect(options, callback);
    },
  });
}

type RequestLike = { method: string; url: string };
export type TransportLike = { httpRequest: (req: RequestLike, options?: unknown) => unknown };

/**
 * Sends every request of `transport` through `agent`, and tells `onRefused` when the guard refused one
 * (jsforce's token refresh rewraps errors as text: the refusal would be lost on the way up). No HTTP
 * proxy: jsforce would take one from https_proxy/HTTP_PROXY and the proxy, not the guard, would pick
 * the address.
 */
export function guardTransport(
  transport: TransportLike,
  agent: Agent,
  onRefused: (refusal: Error) => void,
): void {
  install();
  const httpRequest = transport.httpRequest.bind(transport);
  transport.httpRequest = (req, options) => {
    const sent = current.run(agent, () =>
      httpRequest(req, { ...(options as object | undefined), httpProxy: undefined }),
    );
    (sent as Promise<unknown>).then(undefined, (error: unknown) => {
      const refusal = guardRefusal(error);
      if (refusal) onRefused(refusal);
    });
    return sent;
  };
}
