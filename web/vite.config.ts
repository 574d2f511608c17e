import { defineConfig, type Plugin } from 'vite'
import { svelte } from '@sveltejs/vite-plugin-svelte'
import { brotliCompressSync, gzipSync, constants } from 'node:zlib'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

// precompress writes a .br and a .gz twin of every emitted text file, so
// the Go server sends them as they are (no compression per request). It
// reads the files as written, after every other plugin has finished with
// them.
function precompress(): Plugin {
  return {
    name: 'ezscale-precompress',
    apply: 'build',
    writeBundle(options, bundle) {
      const dir = options.dir!
      for (const name of Object.keys(bundle)) {
        if (!/\.(js|css|html|svg|json|txt)$/.test(name) || name.startsWith('.vite/')) continue
        const src = readFileSync(join(dir, name))
        writeFileSync(join(dir, name + '.br'), brotliCompressSync(src, {
          params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: src.length },
        }))
        writeFileSync(join(dir, name + '.gz'), gzipSync(src, { level: 9 }))
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
