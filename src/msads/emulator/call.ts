/** One API call as the operations see it: the headers that scope it and the emulator's clock. */
export interface Call {
  customerId: string;
  accountId: string;
  trackingId: string;
  /** The emulator clock at arrival, in ms. */
  nowMs: number;
}

/** What an operation answers: a status and a JSON body. Operations know no HTTP framework. */
export interface Answer {
  status: number;
  body: unknown;
  /** A body that is not JSON (faults that play a proxy or a wrong host): sent as is instead of `body`. */
  raw?: { text: string; contentType?: string };
}

export const ok = (body: unknown): Answer => ({ status: 200, body });

/** Hono variables the emulator's middleware and routes share. */
export interface EmulatorEnv {
  Variables: {
    trackingId: string;
    /** The request body as parsed, for the recorder. */
    recordBody: unknown;
  };
}
