/**
 * Session-wide guards: every permission request (camera, notifications,
 * geolocation, ...) is denied, and pages get the same Content-Security-Policy
 * header as `seedscope serve` sends, on top of the meta tag in index.html.
 */
import { session } from 'electron';
import { RENDERER_CSP } from '../core/serve/csp';

export function setupSecurity(): void {
  const defaultSession = session.defaultSession;
  defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  defaultSession.setPermissionCheckHandler(() => false);
  defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [RENDERER_CSP] } });
  });
}
