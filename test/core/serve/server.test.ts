import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiReply } from '../../../core/serve/api-methods';
import type { Logger } from '../../../core/log';
import { RENDERER_CSP } from '../../../core/serve/csp';
import { encodeJson, handleRequest, isLoopbackAddress, startServer, type RunningServer } from '../../../core/serve/server';
import { Service } from '../../../core/service';
import { tempDatabasePath, tempFolder, tinySpec } from '../helpers/temp';

const cleanups: Array<() => Promise<void>> = [];
const silentLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Writes a stub renderer build (index.html and one asset) to a fresh folder. */
function writeRendererBuild(): string {
  const rendererDir = tempFolder('seedscope-renderer-');
  fs.writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>Seedscope</title>');
  fs.mkdirSync(path.join(rendererDir, 'assets'));
  fs.writeFileSync(path.join(rendererDir, 'assets', 'app.js'), 'console.log(1);');
  return rendererDir;
}

/** A real Service on a fresh database behind a server on a free port, with a stub renderer build. */
async function startTestServer(): Promise<{ server: RunningServer; service: Service; rendererDir: string }> {
  const service = Service.open({ dbPath: tempDatabasePath() });
  const rendererDir = writeRendererBuild();
  const server = await startServer({ api: service, rendererDir, logger: silentLogger });
  cleanups.push(async () => {
    await server.close();
    await service.close();
  });
  return { server, service, rendererDir };
}

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Sends one request to the test server on 127.0.0.1. */
function request(port: number, options: { method?: string; path: string; body?: string; headers?: Record<string, string> }): Promise<Response> {
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      { host: '127.0.0.1', port, method: options.method ?? 'GET', path: options.path, headers: options.headers },
      (incoming) => {
        let body = '';
        incoming.setEncoding('utf8');
        incoming.on('data', (chunk: string) => (body += chunk));
        incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body }));
      },
    );
    outgoing.on('error', reject);
    if (options.body !== undefined) outgoing.write(options.body);
    outgoing.end();
  });
}

function call(port: number, method: string, args: unknown[], token: string | null): Promise<Response> {
  const query = token === null ? '' : `?token=${encodeURIComponent(token)}`;
  return request(port, { method: 'POST', path: `/api/${method}${query}`, body: JSON.stringify(args), headers: { 'Content-Type': 'application/json' } });
}

describe('startServer', () => {
  it('binds 127.0.0.1 only', async () => {
    const { server } = await startTestServer();

    const address = server.server.address();

    expect(typeof address === 'object' && address !== null ? address.address : address).toBe('127.0.0.1');
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${server.token}`);
  });

  it('makes a new random token per start', async () => {
    const first = await startTestServer();
    const second = await startTestServer();

    expect(first.server.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(second.server.token).not.toBe(first.server.token);
  });

  it('fails without a renderer build', async () => {
    const service = Service.open({ dbPath: tempDatabasePath() });
    cleanups.push(() => service.close());

    await expect(startServer({ api: service, rendererDir: tempFolder(), logger: silentLogger })).rejects.toThrow(/npm run build/);
  });
});

describe('serve API', () => {
  it('rejects calls without the token', async () => {
    const { server } = await startTestServer();

    const response = await call(server.port, 'listExperiments', [], null);

    expect(response.status).toBe(401);
    expect((JSON.parse(response.body) as ApiReply).ok).toBe(false);
  });

  it('rejects calls with a wrong token', async () => {
    const { server } = await startTestServer();

    const response = await call(server.port, 'listExperiments', [], `${server.token.slice(1)}x`);

    expect(response.status).toBe(401);
  });

  it('rejects the event stream without the token', async () => {
    const { server } = await startTestServer();

    const response = await request(server.port, { path: '/api/events' });

    expect(response.status).toBe(401);
  });

  it('serves calls with the token', async () => {
    const { server, service } = await startTestServer();
    const { id } = await service.createExperiment(tinySpec({ name: 'over http' }));

    const response = await call(server.port, 'getExperiment', [id], server.token);
    const reply = JSON.parse(response.body) as ApiReply<{ name: string; runs: unknown[] }>;

    expect(response.status).toBe(200);
    expect(reply.ok).toBe(true);
    expect(reply.ok && reply.value.name).toBe('over http');
    expect(reply.ok && reply.value.runs).toHaveLength(4);
  });

  it('returns null for a missing experiment', async () => {
    const { server } = await startTestServer();

    const response = await call(server.port, 'getExperiment', [999], server.token);

    expect(JSON.parse(response.body)).toEqual({ ok: true, value: null });
  });

  it('rejects invalid arguments with 400', async () => {
    const { server } = await startTestServer();

    const response = await call(server.port, 'getExperiment', ['1; drop table'], server.token);
    const reply = JSON.parse(response.body) as ApiReply;

    expect(response.status).toBe(400);
    expect(reply.ok ? '' : reply.error.message).toMatch(/invalid arguments for getExperiment/);
  });

  it('returns spec issues from createExperiment', async () => {
    const { server } = await startTestServer();

    const response = await call(server.port, 'createExperiment', [tinySpec({ probeSize: 0 })], server.token);
    const reply = JSON.parse(response.body) as ApiReply;

    expect(response.status).toBe(400);
    expect(reply.ok ? [] : reply.error.issues?.map((issue) => issue.path)).toContain('probeSize');
  });

  it('rejects unknown methods and GET calls', async () => {
    const { server } = await startTestServer();

    const unknown = await call(server.port, 'dropDatabase', [], server.token);
    const viaGet = await request(server.port, { path: `/api/listExperiments?token=${server.token}` });

    expect(unknown.status).toBe(404);
    expect(viaGet.status).toBe(405);
  });

  it('rejects a body that is not JSON', async () => {
    const { server } = await startTestServer();

    const response = await request(server.port, { method: 'POST', path: `/api/listExperiments?token=${server.token}`, body: '{', headers: { 'Content-Type': 'application/json' } });

    expect(response.status).toBe(400);
  });

  it('rejects a body over 16 MiB', async () => {
    const { server } = await startTestServer();
    const body = `[${' '.repeat(16 * 1024 * 1024)}]`;

    const response = await request(server.port, { method: 'POST', path: `/api/listExperiments?token=${server.token}`, body, headers: { 'Content-Type': 'application/json' } });

    expect(response.status).toBe(413);
  });

  it('rejects a body without the JSON content type', async () => {
    const { server } = await startTestServer();

    const response = await request(server.port, { method: 'POST', path: `/api/listExperiments?token=${server.token}`, body: '[]', headers: { 'Content-Type': 'text/plain' } });

    expect(response.status).toBe(415);
  });

  it('rejects a foreign Host header', async () => {
    const { server } = await startTestServer();

    const response = await request(server.port, { method: 'POST', path: `/api/listExperiments?token=${server.token}`, body: '[]', headers: { 'Content-Type': 'application/json', Host: `attacker.example:${server.port}` } });

    expect(response.status).toBe(403);
  });

  it('streams events to a client with the token', async () => {
    const { server, service } = await startTestServer();

    const received = await new Promise<string>((resolve, reject) => {
      const outgoing = http.get({ host: '127.0.0.1', port: server.port, path: `/api/events?token=${server.token}` }, (incoming) => {
        expect(incoming.headers['content-type']).toMatch(/^text\/event-stream/);
        let text = '';
        incoming.setEncoding('utf8');
        incoming.on('data', (chunk: string) => {
          text += chunk;
          if (text.includes('retry:') && !text.includes('analysisProgress')) {
            service.publish({ type: 'analysisProgress', experimentId: 1, done: 1, total: Infinity, message: 'pairs' });
          }
          if (text.includes('analysisProgress')) {
            outgoing.destroy();
            resolve(text);
          }
        });
      });
      outgoing.on('error', (error) => (outgoing.destroyed ? undefined : reject(error)));
    });

    expect(received).toContain('data: {"type":"analysisProgress","experimentId":1,"done":1,"total":"Infinity","message":"pairs"}');
  });
});

describe('serve logging', () => {
  it('logs a failed call as an error', async () => {
    const errors: string[] = [];
    const logger: Logger = { ...silentLogger, error: (message, fields) => errors.push(`${message} ${fields?.method} ${fields?.error}`) };
    const api = { listExperiments: async () => Promise.reject(new Error('disk full')) } as never;
    const server = await startServer({ api, rendererDir: writeRendererBuild(), logger });
    cleanups.push(() => server.close());

    const response = await call(server.port, 'listExperiments', [], server.token);

    expect(response.status).toBe(500);
    expect(errors).toEqual(['call failed listExperiments disk full']);
  });
});

describe('serve static files', () => {
  it('serves index.html with the content security policy', async () => {
    const { server } = await startTestServer();

    const response = await request(server.port, { path: '/?token=abc' });

    expect(response.status).toBe(200);
    expect(response.body).toContain('<title>Seedscope</title>');
    expect(response.headers['content-security-policy']).toBe(`${RENDERER_CSP}; frame-ancestors 'none'`);
    expect(response.headers['referrer-policy']).toBe('no-referrer');
  });

  it('serves assets with their content type', async () => {
    const { server } = await startTestServer();

    const response = await request(server.port, { path: '/assets/app.js' });

    expect(response.headers['content-type']).toMatch(/^text\/javascript/);
  });

  it('does not serve files outside the renderer folder', async () => {
    const { server, rendererDir } = await startTestServer();
    fs.writeFileSync(path.join(path.dirname(rendererDir), 'secret.txt'), 'content outside the renderer');

    const dotted = await request(server.port, { path: '/../secret.txt' });
    const encoded = await request(server.port, { path: '/%2e%2e/secret.txt' });

    expect(dotted.status).toBe(404);
    expect(encoded.status).toBe(404);
    expect(encoded.body).not.toContain('content outside the renderer');
  });
});

describe('handleRequest', () => {
  it('rejects peers outside 127.0.0.1', async () => {
    const written: { status?: number; body?: string } = {};
    const incoming = { socket: { remoteAddress: '192.0.2.10' }, headers: { host: '127.0.0.1:8080' }, url: '/api/listExperiments', method: 'POST' };
    const outgoing = {
      headersSent: false,
      writeHead: (status: number) => (written.status = status),
      end: (body: string) => (written.body = body),
    };
    const context = { api: {} as never, token: 't', rendererDir: '/nonexistent', port: 8080, streams: new Set<never>(), logger: silentLogger };

    await handleRequest(context, incoming as never, outgoing as never);

    expect(written.status).toBe(403);
    expect(written.body).toContain('accepted from 127.0.0.1 only');
  });
});

describe('isLoopbackAddress', () => {
  it.each([
    ['127.0.0.1', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['10.0.0.1', false],
    ['::ffff:192.168.1.4', false],
    ['fe80::1', false],
    [undefined, false],
  ])('classifies %s', (address, expected) => {
    expect(isLoopbackAddress(address)).toBe(expected);
  });
});

describe('encodeJson', () => {
  it('writes non-finite numbers as strings', () => {
    expect(encodeJson({ values: [1, Number.NaN, Infinity, -Infinity] })).toBe('{"values":[1,"NaN","Infinity","-Infinity"]}');
  });
});
