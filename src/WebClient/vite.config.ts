import { defineConfig } from 'vite';

// Built into the Signaling host's static files; the host serves index.html for every page route.
export default defineConfig({
  build: {
    outDir: '../Signaling/wwwroot',
    emptyOutDir: true,
    sourcemap: true,
  },
  server: {
    proxy: {
      '/api': 'http://localhost:5080',
      '/hubs': { target: 'http://localhost:5080', ws: true },
    },
  },
});
