/**
 * Content-Security-Policy of the renderer page. `seedscope serve` and the
 * Electron session send it as a header, and index.html carries the same policy
 * in a meta tag. A test checks that the two match.
 */
export const RENDERER_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // ECharts and Svelte set inline style attributes on the elements they create.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');
