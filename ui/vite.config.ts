import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';

// `--mode harness` builds the test page (tests/harness/) that runs the same App against a
// fake backend through @tauri-apps/api's mockIPC; the normal build is what the app embeds.
export default defineConfig(({ mode }) => ({
  plugins: [svelte()],
  clearScreen: false,
  root: mode === 'harness' ? 'tests/harness' : '.',
  base: './',
  build: {
    outDir: mode === 'harness' ? '../../dist-harness' : 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // The CSP allows no inline script or style: keep every asset in its own file.
    assetsInlineLimit: 0,
  },
  server: { host: '127.0.0.1', port: 5173, strictPort: true },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
}));
