/**
 * Builds the app with electron-vite (as `npm run build` does) and checks the
 * Electron security settings in the built main, preload and renderer output.
 * There is no Electron binary on the build machines. So the checks read the
 * bundles and run the main bundle under Node with a recording fake of the
 * `electron` module, the one mock, at that boundary. The bundled worker is
 * started under Node.
 */
import { execFile, fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_METHODS } from '../../core/serve/api-methods';
import { RENDERER_CSP } from '../../core/serve/csp';
import { repositoryRoot } from '../../core/paths';
import type { WorkerMessage } from '../../worker/protocol';

const run = promisify(execFile);
const outDir = path.join(repositoryRoot, 'out');
let mainBundle = '';
let preloadBundle = '';
let rendererHtml = '';

beforeAll(async () => {
  await run(process.execPath, [path.join(repositoryRoot, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build', '--logLevel', 'warn'], { cwd: repositoryRoot });
  mainBundle = fs.readFileSync(path.join(outDir, 'main', 'index.js'), 'utf8');
  preloadBundle = fs.readFileSync(path.join(outDir, 'preload', 'index.cjs'), 'utf8');
  rendererHtml = fs.readFileSync(path.join(outDir, 'renderer', 'index.html'), 'utf8');
}, 240_000);

/** Returns the source of the object literal assigned to `name` in a bundle. */
function objectLiteral(bundle: string, name: string): string {
  const start = bundle.indexOf(`var ${name} = {`);
  expect(start, `${name} not found in the bundle`).toBeGreaterThanOrEqual(0);
  return bundle.slice(start, bundle.indexOf('};', start) + 2);
}

describe('electron-vite build', () => {
  it('writes main, workers, preload and renderer', () => {
    for (const file of ['main/index.js', 'main/worker.js', 'main/analyse.js', 'preload/index.cjs', 'renderer/index.html']) {
      expect(fs.existsSync(path.join(outDir, file)), file).toBe(true);
    }
  });
});

describe('built main process', () => {
  it('creates windows isolated and sandboxed', () => {
    const preferences = objectLiteral(mainBundle, 'SECURE_WEB_PREFERENCES');

    expect(preferences).toMatch(/contextIsolation: true/);
    expect(preferences).toMatch(/sandbox: true/);
    expect(preferences).toMatch(/nodeIntegration: false/);
    expect(preferences).toMatch(/nodeIntegrationInWorker: false/);
    expect(preferences).toMatch(/webSecurity: true/);
    expect(preferences).toMatch(/allowRunningInsecureContent: false/);
    expect(preferences).toMatch(/webviewTag: false/);
    expect(preferences).toMatch(/preload: join\(here, "\.\.\/preload\/index\.cjs"\)/);
  });

  it('never weakens a security setting', () => {
    for (const weak of [/sandbox: false/, /contextIsolation: false/, /nodeIntegration: true/, /webSecurity: false/, /allowRunningInsecureContent: true/, /enableRemoteModule/]) {
      expect(mainBundle).not.toMatch(weak);
    }
  });

  it('builds every window from the secure preferences', () => {
    const windows = mainBundle.match(/new BrowserWindow\(/g) ?? [];
    const secured = mainBundle.match(/webPreferences: \{ \.\.\.SECURE_WEB_PREFERENCES \}/g) ?? [];

    expect(windows.length).toBe(1);
    expect(secured.length).toBe(windows.length);
  });

  it('loads only the bundled renderer', () => {
    const loads = mainBundle.match(/\.load(URL|File)\([^)]*\)/g) ?? [];

    expect(loads).toEqual(['.loadURL(devServer)', '.loadFile(join(here, "../renderer/index.html")']);
    expect(mainBundle).toMatch(/setWindowOpenHandler/);
    expect(mainBundle).toMatch(/"will-navigate"/);
    expect(mainBundle).toMatch(/setPermissionRequestHandler\(\(_contents, _permission, callback\) => callback\(false\)\)/);
  });

  it('checks the sender before every IPC call', () => {
    const handles = [...mainBundle.matchAll(/ipcMain\.handle\(/g)];
    const handler = mainBundle.slice(handles[0]!.index, mainBundle.indexOf('dispatchApiCall(api, method, args)', handles[0]!.index));

    expect(handles).toHaveLength(1);
    expect(mainBundle).toMatch(/for \(const method of API_METHODS\) ipcMain\.handle/);
    expect(handler).toMatch(/if \(!isTrustedSender\(event\)\)/);
    expect(mainBundle).toMatch(/const parsed = apiArgumentSchemas\[method\]\.safeParse\(args\)/);
  });
});

describe('built preload script', () => {
  it('is a CommonJS script requiring only electron', () => {
    const requires = [...preloadBundle.matchAll(/require\("([^"]+)"\)/g)].map((match) => match[1]);

    expect(requires).toEqual(['electron']);
    expect(preloadBundle).not.toMatch(/^import /m);
  });

  it('exposes the typed bridge, never ipcRenderer', () => {
    const exposures = [...preloadBundle.matchAll(/exposeInMainWorld\(([^)]*)\)/g)].map((match) => match[1]);

    expect(exposures).toEqual(['"seedscope", bridge']);
    expect(objectLiteral(preloadBundle, 'bridge')).not.toMatch(/ipcRenderer[,\s}]/);
  });
});

describe('built renderer page', () => {
  it('carries the same content security policy as serve', () => {
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(rendererHtml);

    expect(meta?.[1]).toBe(RENDERER_CSP);
    expect(RENDERER_CSP).toMatch(/script-src 'self'(;|$)/);
    expect(RENDERER_CSP).toMatch(/object-src 'none'/);
  });

  it('loads scripts and styles from its own folder only', () => {
    const sources = [...rendererHtml.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);

    expect(sources.length).toBeGreaterThan(0);
    // `data:,` is the empty favicon, so the browser requests no /favicon.ico.
    for (const source of sources) expect(source).toMatch(/^(\.\/assets\/|data:,$)/);
  });
});

interface FakeElectronRecord {
  windowOptions: Array<{ webPreferences: Record<string, unknown> }>;
  permissionAnswers: boolean[];
  cspHeader: string[] | null;
  windowOpen: { action: string };
  navigationBlocked: boolean;
  channels: string[];
  calls: Record<string, { ok: boolean; value?: unknown; error?: { code: string; message: string } }>;
  exitCode: number;
  scenarioError?: string;
}

/**
 * Runs the built main bundle under Node with `electron` replaced by the
 * recording fake in fake-electron/, on a fresh database, and returns what it recorded.
 */
async function runMainWithFakeElectron(): Promise<FakeElectronRecord> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'seedscope-electron-'));
  try {
    const register = path.join(repositoryRoot, 'test', 'electron', 'fake-electron', 'register.mjs');
    const { stdout } = await run(process.execPath, ['--import', pathToFileURL(register).href, path.join(outDir, 'main', 'index.js'), '--db', path.join(folder, 'app.db')], {
      cwd: repositoryRoot,
      env: { ...process.env, SEEDSCOPE_LOG: 'error' },
    });
    const line = stdout.split('\n').find((each) => each.startsWith('FAKE_ELECTRON_RESULT '));
    expect(line, `no result line in:\n${stdout}`).toBeDefined();
    return JSON.parse(line!.slice('FAKE_ELECTRON_RESULT '.length)) as FakeElectronRecord;
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

describe('built main process under a fake Electron', () => {
  let record: FakeElectronRecord;

  beforeAll(async () => {
    record = await runMainWithFakeElectron();
  }, 60_000);

  it('opens one secure window and quits cleanly', () => {
    expect(record.scenarioError).toBeUndefined();
    expect(record.exitCode).toBe(0);
    expect(record.windowOptions).toHaveLength(1);
    expect(record.windowOptions[0]!.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true });
    expect(record.windowOptions[0]!.webPreferences.preload).toBe(path.join(outDir, 'preload', 'index.cjs'));
  });

  it('registers one handler per Api method', () => {
    expect(record.channels).toEqual(API_METHODS.map((method) => `seedscope:api:${method}`).sort());
  });

  it('serves calls from the bundled page', () => {
    expect(record.calls.trustedList).toEqual({ ok: true, value: [] });
    expect(record.calls.missingExperiment).toEqual({ ok: true, value: null });
  });

  it.each(['foreignPage', 'subframe', 'strayContents', 'emptyUrl'])('rejects calls from %s', (name) => {
    expect(record.calls[name]!.ok).toBe(false);
    expect(record.calls[name]!.error!.message).toBe('calls are accepted from the Seedscope window only');
  });

  it.each(['invalidId', 'extraPatchField', 'invalidSpec'])('rejects the invalid payload %s', (name) => {
    expect(record.calls[name]!.ok).toBe(false);
    expect(record.calls[name]!.error!.code).toBe('invalid');
  });

  it('denies permissions, new windows and navigation', () => {
    expect(record.permissionAnswers).toEqual([false, false]);
    expect(record.windowOpen).toEqual({ action: 'deny' });
    expect(record.navigationBlocked).toBe(true);
    expect(record.cspHeader).toEqual([RENDERER_CSP]);
  });
});

describe('bundled worker', () => {
  it('starts under Node and reports ready', async () => {
    const child = fork(path.join(outDir, 'main', 'worker.js'), [], {
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));

    const first = await new Promise<WorkerMessage | string>((resolve) => {
      child.once('message', (message) => resolve(message as WorkerMessage));
      child.once('exit', (code) => resolve(`exited with code ${code}: ${stderr}`));
    });
    child.send({ type: 'shutdown' });
    await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(null)));

    expect(typeof first === 'string' ? first : first.type).toBe('ready');
  }, 60_000);
});
