import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  // Relative asset URLs: Electron loads the page from file://, the tests over http.
  base: './',
  plugins: [react()],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    // Chromium has modulepreload natively; the polyfill would be dead weight.
    modulePreload: { polyfill: false },
    // Keep every asset a file: fonts or images inlined as data: would still pass the CSP,
    // but one rule for all is easier to reason about.
    assetsInlineLimit: 0,
    target: 'chrome120',
  },
});
