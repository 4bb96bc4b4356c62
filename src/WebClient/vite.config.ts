import { defineConfig } from 'vite';

// Built into the Signaling host's static files; the host serves index.html for every page route.
export default defineConfig({
  build: {
    outDir: '../Signaling/wwwroot',
    emptyOutDir: true,
    sourcemap: true,
    // Stable file names: the host's build takes wwwroot as static web assets, and names that change with every
    // build leave it pointing at files that are gone. Browsers revalidate them instead (Cache-Control: no-cache, ETag).
    rollupOptions: {
      output: {
        entryFileNames: 'assets/[name].js',
        chunkFileNames: 'assets/[name].js',
        assetFileNames: 'assets/[name][extname]',
      },
    },
  },
  server: {
    proxy: {
      '/api': 'http://localhost:5080',
      '/hubs': { target: 'http://localhost:5080', ws: true },
    },
  },
});
