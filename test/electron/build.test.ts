/**
 * Builds the app with electron-vite (as `npm run build` does) and checks the
 * Electron security settings in the built main, preload and renderer output.
 * There is no Electron binary on the build machines, so the checks read the
 * bundles; the bundled worker is started under Node.
 */
import { execFile, fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
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

/** The source of the object literal assigned to `name` in a bundle. */
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
