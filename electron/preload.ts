/**
 * Preload script of the sandboxed renderer. It exposes a small typed bridge
 * (`window.seedscope`), one function per `Api` method, and never the raw
 * `ipcRenderer` or its event objects.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { ApiEvent } from '../core/api';
import { API_METHODS, apiChannel, EVENT_CHANNEL, MENU_CHANNEL, type MenuCommand, type SeedscopeBridge } from './ipc';

function listen<T>(channel: string, listener: (payload: T) => void): () => void {
  const wrapped = (_event: IpcRendererEvent, payload: T) => listener(payload);
  ipcRenderer.on(channel, wrapped);
  return () => {
    ipcRenderer.off(channel, wrapped);
  };
}

const calls = Object.fromEntries(API_METHODS.map((method) => [method, (...args: unknown[]) => ipcRenderer.invoke(apiChannel(method), args)]));

const bridge = {
  ...calls,
  onEvent: (listener: (event: ApiEvent) => void) => listen(EVENT_CHANNEL, listener),
  onMenuCommand: (listener: (command: MenuCommand) => void) => listen(MENU_CHANNEL, listener),
} as SeedscopeBridge;

contextBridge.exposeInMainWorld('seedscope', bridge);
