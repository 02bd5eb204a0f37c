import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// The page builds from the SDK's and the protocol's sources, not their dist/,
// so `npm run build -w web` needs no tsc step first. The SDK loads the Node-only
// `ws` package through a variable specifier (/* @vite-ignore */), so it never
// enters this bundle: browsers use their own WebSocket.
export default defineConfig({
  root: here('.'),
  resolve: {
    alias: {
      '@foyer/client-sdk': here('../client-sdk/src/index.ts'),
      '@foyer/shared': here('../shared/src/index.ts'),
    },
  },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: false,
    rolldownOptions: {
      // Two pages: the lobby (index.html) and the operator console (console.html, served at /console).
      input: { lobby: here('index.html'), console: here('console.html') },
      // The protocol's modules only declare schemas and tables: when the page
      // uses none of a module's exports, drop it (and zod with it).
      treeshake: { moduleSideEffects: (id: string) => !/[\\/]shared[\\/]src[\\/]/.test(id) },
    },
  },
});
