// The console's front end: plain TypeScript and CSS, built into ../web-dist by `pnpm build` (and so by
// `pnpm install`'s prepare). No inline scripts or styles: the server's Content-Security-Policy forbids them.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: '/',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../web-dist', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // One small script, no inlined assets (the CSP allows 'self' only).
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
