/**
 * Build of the desktop app: Electron main (with the worker entry beside it),
 * the sandboxed preload script and the Svelte renderer. The renderer output in
 * out/renderer is also what `seedscope serve` hands to a browser.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'electron-vite';

const workerEntry = resolve('worker/main.ts');

export default defineConfig({
  main: {
    build: {
      rolldownOptions: {
        // The scheduler forks out/main/worker.js with ELECTRON_RUN_AS_NODE=1.
        // NOTE: the worker input is skipped while worker/main.ts does not exist yet.
        input: {
          index: resolve('electron/main.ts'),
          ...(existsSync(workerEntry) ? { worker: workerEntry } : {}),
        },
      },
    },
  },
  preload: {
    build: {
      // A sandboxed preload runs as a classic script: CommonJS, with every
      // import bundled in, because it may only require('electron').
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: resolve('electron/preload.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve('renderer'),
    base: './',
    plugins: [svelte({ compilerOptions: { runes: true } })],
    build: {
      outDir: resolve('out/renderer'),
      emptyOutDir: true,
      minify: true,
      // ECharts (line, scatter and heatmap with their components) is most of the bundle.
      chunkSizeWarningLimit: 1000,
      rolldownOptions: { input: { index: resolve('renderer/index.html') } },
    },
  },
});
