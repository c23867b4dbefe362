/**
 * Build of the desktop app: Electron main (with the worker entries beside it),
 * the sandboxed preload script and the Svelte renderer. The renderer output in
 * out/renderer is also what `seedscope serve` hands to a browser.
 */
import { resolve } from 'node:path';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'electron-vite';

export default defineConfig({
  main: {
    build: {
      rolldownOptions: {
        // The scheduler forks out/main/worker.js and the analysis hook
        // out/main/analyse.js, both run by Electron as Node (ELECTRON_RUN_AS_NODE=1).
        input: {
          index: resolve('electron/main.ts'),
          worker: resolve('worker/main.ts'),
          analyse: resolve('worker/analyse/main.ts'),
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
      emptyOutDir: true,
      minify: true,
      // ECharts (line, scatter and heatmap with their components) is most of the bundle.
      chunkSizeWarningLimit: 1000,
      rolldownOptions: { input: { index: resolve('renderer/index.html') } },
    },
  },
});
