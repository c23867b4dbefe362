/**
 * The renderer's `Api`: over the preload bridge inside Electron, over HTTP and
 * Server-Sent Events in a browser opened from `seedscope serve`. Both turn
 * `{ ok: false }` replies into a thrown `ApiError`, so screens see one behaviour.
 */
import { ApiError, type Api, type ApiEvent } from '../../../../core/api';
import { API_METHODS, type ApiMethod, type ApiReply } from '../../../../core/serve/api-methods';
import type { SeedscopeBridge } from '../../../../electron/ipc';
import { decodeEvent, decodeResult } from './wire';

declare global {
  interface Window {
    seedscope?: SeedscopeBridge;
  }
}

/** Picks the transport: IPC when the preload bridge is present, else HTTP. */
export function createClient(): Api {
  const bridge = window.seedscope;
  if (bridge) return createIpcClient(bridge);
  const token = new URLSearchParams(window.location.search).get('token') ?? '';
  return createHttpClient(window.location.origin, token);
}

function unwrap<T>(reply: ApiReply<T>): T {
  if (reply.ok) return reply.value;
  throw new ApiError(reply.error.code, reply.error.message, reply.error.issues);
}

function createIpcClient(bridge: SeedscopeBridge): Api {
  const api: Record<string, unknown> = {};
  for (const method of API_METHODS) {
    const call = bridge[method] as (...args: unknown[]) => Promise<ApiReply>;
    api[method] = async (...args: unknown[]) => unwrap(await call(...args));
  }
  api.subscribe = (listener: (event: ApiEvent) => void) => bridge.onEvent(listener);
  return api as unknown as Api;
}

/**
 * HTTP transport: `POST /api/<method>?token=…` with the arguments as a JSON
 * array, and one shared EventSource for events while anyone listens.
 */
export function createHttpClient(origin: string, token: string): Api {
  const query = `token=${encodeURIComponent(token)}`;
  const api: Record<string, unknown> = {};

  for (const method of API_METHODS) {
    api[method] = async (...args: unknown[]) => {
      const response = await fetch(`${origin}/api/${method}?${query}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(args),
      });
      const reply = await readReply(response, method);
      return decodeResult(method, unwrap(reply));
    };
  }

  const listeners = new Set<(event: ApiEvent) => void>();
  let source: EventSource | null = null;
  api.subscribe = (listener: (event: ApiEvent) => void) => {
    listeners.add(listener);
    if (source === null) {
      source = new EventSource(`${origin}/api/events?${query}`);
      source.onmessage = (message: MessageEvent<string>) => {
        const event = decodeEvent(JSON.parse(message.data));
        for (const notify of listeners) notify(event);
      };
    }
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && source !== null) {
        source.close();
        source = null;
      }
    };
  };
  return api as unknown as Api;
}

async function readReply(response: Response, method: string): Promise<ApiReply> {
  const text = await response.text();
  try {
    return JSON.parse(text) as ApiReply;
  } catch {
    throw new ApiError('internal', `${method} failed with HTTP ${response.status}: ${text.slice(0, 200)}`);
  }
}
