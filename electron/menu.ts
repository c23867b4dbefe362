/**
 * The application menu: standard roles plus the commands the renderer carries
 * out. Their accelerators are only shown here, because the page handles the
 * same keys itself (they work in browser mode too).
 */
import { BrowserWindow, Menu, type MenuItemConstructorOptions } from 'electron';
import { MENU_CHANNEL, type MenuCommand } from './ipc';

function sendCommand(command: MenuCommand): void {
  const window = BrowserWindow.getFocusedWindow() ?? BrowserWindow.getAllWindows()[0];
  window?.webContents.send(MENU_CHANNEL, command);
}

export function setupMenu(): void {
  const isMac = process.platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        { label: 'New Sweep…', accelerator: 'Alt+N', registerAccelerator: false, click: () => sendCommand('newSweep') },
        { label: 'Experiments', accelerator: 'Alt+E', registerAccelerator: false, click: () => sendCommand('experiments') },
        { type: 'separator' },
        isMac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        { label: 'Toggle Dark Theme', accelerator: 'Alt+T', registerAccelerator: false, click: () => sendCommand('toggleTheme') },
        { type: 'separator' },
        { role: 'reload' },
        { role: 'toggleDevTools' },
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { role: 'togglefullscreen' },
      ],
    },
    { role: 'windowMenu' },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}
