import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Forge serves the Custom UI resource from a CDN sub path: every asset URL must be relative,
// and its CSP forbids inline scripts (no module-preload polyfill, no inlined chunks).
export default defineConfig({
  base: './',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
  },
});
