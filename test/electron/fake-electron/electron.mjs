/**
 * A recording stand-in for the `electron` module, for running the built main
 * bundle under plain Node (no Electron binary exists on the build machines).
 * When the bundle loads its window, the fake calls the registered IPC
 * handlers from trusted and untrusted senders, prints one result line
 * (`FAKE_ELECTRON_RESULT <json>`) and quits the app the way Electron would.
 */
import { EventEmitter } from 'node:events';

const appEvents = new EventEmitter();
const handlers = new Map();
const windows = [];
const record = { windowOptions: [], permissionAnswers: [], cspHeader: null, calls: {} };

export const app = {
  requestSingleInstanceLock: () => true,
  whenReady: () => Promise.resolve(),
  on: (name, listener) => appEvents.on(name, listener),
  quit: () => {
    let prevented = false;
    appEvents.emit('will-quit', { preventDefault: () => (prevented = true) });
    if (!prevented) finish(0);
  },
  exit: (code) => finish(code),
};

function finish(code) {
  process.stdout.write(`FAKE_ELECTRON_RESULT ${JSON.stringify({ ...record, exitCode: code })}\n`);
  process.exit(code);
}

class FakeWebContents extends EventEmitter {
  url = '';
  setWindowOpenHandler(handler) {
    record.windowOpen = handler({ url: 'https://example.invalid/' });
  }
  send() {}
  isDestroyed() {
    return false;
  }
  getURL() {
    return this.url;
  }
}

export class BrowserWindow extends EventEmitter {
  constructor(options) {
    super();
    record.windowOptions.push(JSON.parse(JSON.stringify(options)));
    this.webContents = new FakeWebContents();
    windows.push(this);
  }
  static getAllWindows() {
    return windows;
  }
  static getFocusedWindow() {
    return windows[0] ?? null;
  }
  static fromWebContents(contents) {
    return windows.find((window) => window.webContents === contents) ?? null;
  }
  show() {}
  isMinimized() {
    return false;
  }
  restore() {}
  focus() {}
  loadURL(url) {
    this.webContents.url = url;
    return Promise.resolve();
  }
  loadFile(file) {
    this.webContents.url = `file://${file}`;
    setImmediate(() => void runScenario(this).catch((error) => {
      record.scenarioError = String(error?.stack ?? error);
      finish(1);
    }));
    return Promise.resolve();
  }
}

async function invoke(channel, event, args) {
  const handler = handlers.get(channel);
  if (!handler) return { missingHandler: channel };
  return handler(event, args);
}

/** Calls the handlers as the page, as a page of another origin, as a subframe and as a frame without a URL would. */
async function runScenario(window) {
  const top = { url: window.webContents.url, parent: null };
  const trusted = { sender: window.webContents, senderFrame: top };
  const foreignPage = { sender: window.webContents, senderFrame: { url: 'https://attacker.example/', parent: null } };
  const subframe = { sender: window.webContents, senderFrame: { url: window.webContents.url, parent: top } };
  const strayContents = { sender: new FakeWebContents(), senderFrame: top };
  const emptyUrl = { sender: window.webContents, senderFrame: { url: '', parent: null } };

  record.channels = [...handlers.keys()].sort();
  record.calls.trustedList = await invoke('seedscope:api:listExperiments', trusted, []);
  record.calls.foreignPage = await invoke('seedscope:api:listExperiments', foreignPage, []);
  record.calls.subframe = await invoke('seedscope:api:listExperiments', subframe, []);
  record.calls.strayContents = await invoke('seedscope:api:listExperiments', strayContents, []);
  record.calls.emptyUrl = await invoke('seedscope:api:listExperiments', emptyUrl, []);
  record.calls.invalidId = await invoke('seedscope:api:getExperiment', trusted, ['1 OR 1=1']);
  record.calls.extraPatchField = await invoke('seedscope:api:updateExperiment', trusted, [1, { name: 'x', spec: {} }]);
  record.calls.invalidSpec = await invoke('seedscope:api:createExperiment', trusted, [{ name: 'bad', optimizers: [] }]);
  record.calls.missingExperiment = await invoke('seedscope:api:getExperiment', trusted, [42]);

  const navigation = { defaultPrevented: false, preventDefault() { this.defaultPrevented = true; } };
  window.webContents.emit('will-navigate', navigation, 'https://attacker.example/');
  record.navigationBlocked = navigation.defaultPrevented;

  window.emit('closed');
  app.quit();
}

export const ipcMain = {
  handle: (channel, handler) => {
    if (handlers.has(channel)) throw new Error(`second handler for ${channel}`);
    handlers.set(channel, handler);
  },
  removeHandler: (channel) => handlers.delete(channel),
};

export const Menu = {
  buildFromTemplate: (template) => ({ template }),
  setApplicationMenu: () => {},
};

export const session = {
  defaultSession: {
    setPermissionRequestHandler: (handler) => handler(null, 'media', (answer) => record.permissionAnswers.push(answer)),
    setPermissionCheckHandler: (handler) => record.permissionAnswers.push(handler(null, 'notifications')),
    webRequest: {
      onHeadersReceived: (handler) => handler({ responseHeaders: {} }, (result) => (record.cspHeader = result.responseHeaders['Content-Security-Policy'])),
    },
  },
};

export const nativeTheme = { shouldUseDarkColors: false };
export const shell = { openExternal: async () => {} };
export const contextBridge = {};
export const ipcRenderer = {};
export default { app, BrowserWindow, ipcMain, Menu, session, nativeTheme, shell, contextBridge, ipcRenderer };
