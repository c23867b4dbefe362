/**
 * The HTTP transport of the `Api` for `seedscope serve`: JSON calls at
 * `POST /api/<method>`, live events as Server-Sent Events at `GET /api/events`,
 * and the built renderer as static files. It listens on 127.0.0.1 only, and
 * every API request must carry the per-start token in its URL (`?token=`).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { encodeNumber, type Api, type ApiEvent } from '../api';
import { createLogger, type Logger } from '../log';
import { isApiMethod, type ApiReply, type WireError } from './api-methods';
import { dispatchApiCall } from './api-requests';
import { RENDERER_CSP } from './csp';

export { RENDERER_CSP };

const httpLog = createLogger('serve.http');

/** The only address the server binds; it is never reachable from another machine. */
export const SERVE_HOST = '127.0.0.1';

const MAX_BODY_BYTES = 16 * 1024 * 1024;
const SSE_KEEPALIVE_MS = 15_000;


const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

export interface ServeOptions {
  api: Api;
  /** Folder with the built renderer (index.html and its assets). */
  rendererDir: string;
  /** TCP port; 0 picks a free one. */
  port?: number;
  /** Logger of starts and stops (info) and failed requests (error), by default the `serve.http` logger. */
  logger?: Logger;
}

export interface RunningServer {
  /** The URL to open, token included. */
  url: string;
  token: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/** Starts the server on 127.0.0.1 with a fresh random token. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const token = randomBytes(32).toString('base64url');
  const logger = options.logger ?? httpLog;
  const rendererDir = resolve(options.rendererDir);
  await assertRendererBuilt(rendererDir);

  const streams = new Set<ServerResponse>();
  let port = 0;
  const server = createServer((request, response) => {
    const context = { api: options.api, token, rendererDir, port, streams, logger };
    handleRequest(context, request, response).catch((error: unknown) => {
      logger.error('request failed', { error: String(error), method: request.method, path: pathOf(request) });
      if (!response.headersSent) sendJson(response, 500, failure('internal', 'internal server error; see the serve log'));
      else response.destroy();
    });
  });

  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(options.port ?? 0, SERVE_HOST, () => {
      server.off('error', rejectListen);
      resolveListen();
    });
  });
  port = (server.address() as AddressInfo).port;
  logger.info('listening', { host: SERVE_HOST, port });

  return {
    url: `http://${SERVE_HOST}:${port}/?token=${token}`,
    token,
    port,
    server,
    close: async () => {
      for (const stream of streams) stream.end();
      streams.clear();
      await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
      server.closeAllConnections();
      logger.info('stopped', { port });
    },
  };
}

interface RequestContext {
  api: Api;
  token: string;
  rendererDir: string;
  port: number;
  streams: Set<ServerResponse>;
  logger: Logger;
}

/**
 * Routes one request. Rejects peers that are not on the loopback interface and
 * Host headers other than this server's own (so a web page on another origin
 * cannot reach it through DNS rebinding), then serves the API or a static file.
 */
export async function handleRequest(context: RequestContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (!isLoopbackAddress(request.socket.remoteAddress)) {
    sendJson(response, 403, failure('invalid', `requests are accepted from ${SERVE_HOST} only`));
    return;
  }
  if (!isOwnHost(request.headers.host, context.port)) {
    sendJson(response, 403, failure('invalid', `invalid Host header ${JSON.stringify(request.headers.host ?? '')}`));
    return;
  }

  const url = new URL(request.url ?? '/', `http://${SERVE_HOST}`);
  if (url.pathname.startsWith('/api/')) {
    await handleApiRequest(context, url, request, response);
    return;
  }
  await serveStatic(context.rendererDir, url.pathname, request, response);
}

async function handleApiRequest(context: RequestContext, url: URL, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (!tokenMatches(url.searchParams.get('token'), context.token)) {
    sendJson(response, 401, failure('invalid', 'missing or invalid token; open the URL that `seedscope serve` printed'));
    return;
  }

  const name = url.pathname.slice('/api/'.length);
  if (name === 'events') {
    if (request.method !== 'GET') {
      sendJson(response, 405, failure('invalid', 'use GET for /api/events'));
      return;
    }
    openEventStream(context, request, response);
    return;
  }

  if (!isApiMethod(name)) {
    sendJson(response, 404, failure('not_found', `unknown API method ${JSON.stringify(name)}`));
    return;
  }
  if (request.method !== 'POST') {
    sendJson(response, 405, failure('invalid', `use POST for /api/${name}`));
    return;
  }
  if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
    sendJson(response, 415, failure('invalid', 'send the arguments as a JSON array with Content-Type application/json'));
    return;
  }

  const body = await readBody(request);
  if (body === null) {
    sendJson(response, 413, failure('invalid', `request body is larger than ${MAX_BODY_BYTES} bytes`));
    return;
  }
  let args: unknown;
  try {
    args = body.length === 0 ? [] : JSON.parse(body);
  } catch (error) {
    sendJson(response, 400, failure('invalid', `request body is not valid JSON: ${(error as Error).message}`));
    return;
  }

  const reply = await dispatchApiCall(context.api, name, args);
  if (!reply.ok && reply.error.code === 'internal') {
    context.logger.error('call failed', { error: reply.error.message, method: name });
  }
  sendJson(response, reply.ok ? 200 : statusFor(reply.error.code), reply);
}

function openEventStream(context: RequestContext, request: IncomingMessage, response: ServerResponse): void {
  response.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    Connection: 'keep-alive',
    'X-Content-Type-Options': 'nosniff',
  });
  response.write('retry: 2000\n\n');
  context.streams.add(response);

  const unsubscribe = context.api.subscribe((event: ApiEvent) => {
    response.write(`data: ${encodeJson(event)}\n\n`);
  });
  // A comment line every few seconds keeps proxies and idle timeouts from closing the stream.
  const keepalive = setInterval(() => response.write(': keepalive\n\n'), SSE_KEEPALIVE_MS);
  keepalive.unref();

  request.on('close', () => {
    clearInterval(keepalive);
    unsubscribe();
    context.streams.delete(response);
  });
}

async function serveStatic(rendererDir: string, pathname: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    sendJson(response, 405, failure('invalid', 'static files accept GET and HEAD only'));
    return;
  }

  const relative = pathname === '/' ? 'index.html' : decodeURIComponentSafe(pathname.slice(1));
  const filePath = relative === null ? null : normalize(join(rendererDir, relative));
  if (filePath === null || !filePath.startsWith(rendererDir + sep)) {
    sendJson(response, 404, failure('not_found', `no file at ${pathname}`));
    return;
  }

  const info = await stat(filePath).catch(() => null);
  if (info === null || !info.isFile()) {
    sendJson(response, 404, failure('not_found', `no file at ${pathname}`));
    return;
  }

  const contentType = CONTENT_TYPES[extname(filePath)] ?? 'application/octet-stream';
  const headers: Record<string, string> = {
    'Content-Type': contentType,
    'Content-Length': String(info.size),
    'X-Content-Type-Options': 'nosniff',
    // The page URL carries the token, so it must never leak through a Referer header.
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-cache',
  };
  if (contentType.startsWith('text/html')) headers['Content-Security-Policy'] = `${RENDERER_CSP}; frame-ancestors 'none'`;
  response.writeHead(200, headers);
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  response.end(await readFile(filePath));
}

/** True for IPv4 and IPv6 loopback peers, including the IPv4-mapped IPv6 form. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  if (address === '::1') return true;
  const ipv4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ipv4);
}

function isOwnHost(host: string | undefined, port: number): boolean {
  return host === `${SERVE_HOST}:${port}` || host === `localhost:${port}`;
}

function tokenMatches(received: string | null, expected: string): boolean {
  if (received === null) return false;
  const a = Buffer.from(received);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Serialises a value to JSON, sending NaN and ±Infinity as the strings of `encodeNumber`. */
export function encodeJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'number' && !Number.isFinite(item) ? encodeNumber(item) : item));
}

function sendJson(response: ServerResponse, status: number, body: ApiReply): void {
  const text = encodeJson(body);
  response.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  response.end(text);
}

function failure(code: WireError['code'], message: string): ApiReply {
  return { ok: false, error: { code, message } };
}

function statusFor(code: WireError['code']): number {
  if (code === 'invalid') return 400;
  if (code === 'not_found') return 404;
  if (code === 'conflict') return 409;
  return 500;
}

/** Reads the whole body as UTF-8; null when it exceeds `MAX_BODY_BYTES`. */
async function readBody(request: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function decodeURIComponentSafe(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

function pathOf(request: IncomingMessage): string {
  return (request.url ?? '').split('?')[0] ?? '';
}

async function assertRendererBuilt(rendererDir: string): Promise<void> {
  const index = await stat(join(rendererDir, 'index.html')).catch(() => null);
  if (index === null) {
    throw new Error(`renderer build not found: ${join(rendererDir, 'index.html')} is missing; run \`npm run build\` first`);
  }
}
