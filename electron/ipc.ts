/**
 * IPC channel names and payload types between Electron main and the preload
 * script: one channel per `Api` method, one for live events and one for menu
 * commands. Both sides import this module and nothing else defines a channel.
 */
import type { ApiEvent } from '../core/api';
import type { ApiArguments, ApiMethod, ApiReply, ApiResult } from '../core/serve/api-methods';

export { API_METHODS } from '../core/serve/api-methods';

const API_CHANNEL_PREFIX = 'seedscope:api:';

/** The `ipcMain.handle` channel of an `Api` method. */
export function apiChannel(method: ApiMethod): string {
  return `${API_CHANNEL_PREFIX}${method}`;
}

/** Main → renderer: one `ApiEvent` per message. */
export const EVENT_CHANNEL = 'seedscope:event';

/** Main → renderer: a menu item the renderer carries out (its accelerator works the same way in the page). */
export const MENU_CHANNEL = 'seedscope:menu';

export type MenuCommand = 'newSweep' | 'experiments' | 'toggleTheme';

export const MENU_COMMANDS: readonly MenuCommand[] = ['newSweep', 'experiments', 'toggleTheme'];

/**
 * The bridge the preload script exposes as `window.seedscope`. Calls resolve to an
 * `ApiReply` (errors as data); listeners get plain event objects, never the
 * `IpcRendererEvent`.
 */
export type SeedscopeBridge = {
  [M in ApiMethod]: (...args: ApiArguments<M>) => Promise<ApiReply<ApiResult<M>>>;
} & {
  onEvent(listener: (event: ApiEvent) => void): () => void;
  onMenuCommand(listener: (command: MenuCommand) => void): () => void;
};
