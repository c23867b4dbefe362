/**
 * Electron main process: single instance, the secure window, the menu and the
 * `Api` over IPC. Business logic lives in core; each concern here is one setup call.
 */
import { app, BrowserWindow } from 'electron';
import { createLogger } from '../core/log';
import { openDesktopBackend, type DesktopBackend } from './backend';
import { setupApiHandlers } from './ipc-handlers';
import { setupMenu } from './menu';
import { setupSecurity } from './security';
import { createMainWindow } from './window';

const log = createLogger('electron.main');

let backend: DesktopBackend | null = null;
let removeHandlers: (() => void) | null = null;

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    const window = BrowserWindow.getAllWindows()[0];
    if (window?.isMinimized()) window.restore();
    window?.focus();
  });

  app.whenReady().then(start, (error: unknown) => {
    log.error('app failed to start', { error: String(error) });
    app.exit(1);
  });
}

async function start(): Promise<void> {
  setupSecurity();
  setupMenu();
  backend = await openDesktopBackend();
  removeHandlers = setupApiHandlers(backend.api);
  createMainWindow();

  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createMainWindow();
  });
}

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

let closing = false;
app.on('will-quit', (event) => {
  if (closing || backend === null) return;

  // Let the scheduler stop its workers and commit what it has before exiting.
  event.preventDefault();
  closing = true;
  removeHandlers?.();
  backend.close().then(
    () => app.quit(),
    (error: unknown) => {
      log.error('backend failed to close', { error: String(error) });
      app.exit(1);
    },
  );
});
