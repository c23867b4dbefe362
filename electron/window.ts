/**
 * The main window: sandboxed, context-isolated, no Node in the page, and
 * nothing loaded but the bundled renderer or, in development, the
 * electron-vite dev server.
 */
import { BrowserWindow, nativeTheme, shell } from 'electron';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));

/** Secure web preferences of every renderer window; a test reads them from the built main bundle. */
export const SECURE_WEB_PREFERENCES = {
  preload: join(here, '../preload/index.cjs'),
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  webviewTag: false,
  spellcheck: false,
} as const;

export function createMainWindow(): BrowserWindow {
  const window = new BrowserWindow({
    width: 1400,
    height: 900,
    minWidth: 900,
    minHeight: 600,
    show: false,
    title: 'Seedscope',
    backgroundColor: nativeTheme.shouldUseDarkColors ? '#14161a' : '#f7f7f5',
    webPreferences: { ...SECURE_WEB_PREFERENCES },
  });

  window.once('ready-to-show', () => window.show());
  restrictNavigation(window);

  const devServer = process.env.ELECTRON_RENDERER_URL;
  if (devServer && !process.env.NODE_ENV?.startsWith('prod')) {
    void window.loadURL(devServer);
  } else {
    void window.loadFile(join(here, '../renderer/index.html'));
  }
  return window;
}

/**
 * Keeps the window on the bundled renderer: in-page navigation elsewhere is
 * blocked, new windows are denied, and http(s) links open in the system browser.
 */
function restrictNavigation(window: BrowserWindow): void {
  window.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://') || url.startsWith('http://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
  window.webContents.on('will-navigate', (event, url) => {
    if (url !== window.webContents.getURL()) event.preventDefault();
  });
  window.webContents.on('will-attach-webview', (event) => event.preventDefault());
}
