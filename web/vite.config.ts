import { defineConfig, type Plugin } from 'vite'
import { svelte } from '@sveltejs/vite-plugin-svelte'
import { brotliCompressSync, gzipSync, constants } from 'node:zlib'

// precompress writes a .br and a .gz twin of every emitted text file, so
// the Go server sends them as they are (no compression per request).
function precompress(): Plugin {
  return {
    name: 'ezscale-precompress',
    apply: 'build',
    enforce: 'post',
    generateBundle(_, bundle) {
      for (const [name, out] of Object.entries(bundle)) {
        if (!/\.(js|css|html|svg|json|txt)$/.test(name) || name.startsWith('.vite/')) continue
        const src = out.type === 'chunk' ? Buffer.from(out.code) : Buffer.from(out.source as string | Uint8Array)
        this.emitFile({ type: 'asset', fileName: name + '.br', source: brotliCompressSync(src, {
          params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: src.length },
        }) })
        this.emitFile({ type: 'asset', fileName: name + '.gz', source: gzipSync(src, { level: 9 }) })
      }
    },
  }
}

export default defineConfig({
  plugins: [svelte(), precompress()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    manifest: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    target: 'es2022',
    reportCompressedSize: false,
  },
  server: {
    // `npm run dev` serves the console with hot reload and forwards the API
    // to a running core (EZSCALE_API, default http://127.0.0.1:8080). The
    // Origin is rewritten so the core sees a same-origin request.
    proxy: {
      '/api': {
        target: process.env.EZSCALE_API ?? 'http://127.0.0.1:8080',
        changeOrigin: true,
      },
    },
  },
})
