/**
 * The `Api` over IPC: one `ipcMain.handle` per method. Every handler checks
 * that the sender is a frame of one of our windows showing the bundled
 * renderer, validates its arguments with the schemas in
 * core/serve/api-requests.ts and resolves to an `ApiReply`. Failures travel
 * as replies, not as exceptions across the boundary.
 */
import { BrowserWindow, ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron';
import type { Api, ApiEvent } from '../core/api';
import { createLogger } from '../core/log';
import type { ApiReply } from '../core/serve/api-methods';
import { dispatchApiCall } from '../core/serve/api-requests';
import { API_METHODS, apiChannel, EVENT_CHANNEL } from './ipc';

const log = createLogger('electron.ipc');

/** Registers the handlers and forwards events to every window; returns a function that removes both. */
export function setupApiHandlers(api: Api): () => void {
  for (const method of API_METHODS) {
    ipcMain.handle(apiChannel(method), async (event: IpcMainInvokeEvent, args: unknown): Promise<ApiReply> => {
      if (!isTrustedSender(event)) {
        log.warn('rejected call from an untrusted frame', { method, url: event.senderFrame?.url ?? 'unknown' });
        return { ok: false, error: { code: 'invalid', message: 'calls are accepted from the Seedscope window only' } };
      }
      const reply = await dispatchApiCall(api, method, args);
      if (!reply.ok && reply.error.code === 'internal') log.error('call failed', { method, error: reply.error.message });
      return reply;
    });
  }

  const unsubscribe = api.subscribe((event: ApiEvent) => {
    for (const window of BrowserWindow.getAllWindows()) sendIfAlive(window.webContents, event);
  });

  return () => {
    unsubscribe();
    for (const method of API_METHODS) ipcMain.removeHandler(apiChannel(method));
  };
}

function sendIfAlive(contents: WebContents, event: ApiEvent): void {
  if (!contents.isDestroyed()) contents.send(EVENT_CHANNEL, event);
}

/**
 * Returns true when the call comes from the top frame of one of our windows and that
 * frame shows the bundled renderer (a file: URL) or the electron-vite dev server.
 */
export function isTrustedSender(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  if (!frame || frame.parent !== null) return false;
  if (BrowserWindow.fromWebContents(event.sender) === null) return false;

  // A frame that is still navigating can report an empty URL.
  if (!URL.canParse(frame.url)) return false;
  const url = new URL(frame.url);
  if (url.protocol === 'file:') return true;
  const devServer = process.env.ELECTRON_RENDERER_URL;
  return devServer !== undefined && url.origin === new URL(devServer).origin;
}
