// Vite builds the console into one page, one script and one style sheet with hashed names, flat
// under /console/ (kasumid serves them from memory: src/admin/h_console.c). Nothing is fetched from
// another host at run time: no CDN, no web fonts.
import { defineConfig } from "vite";

export default defineConfig({
  base: "/console/",
  build: {
    assetsDir: "",
    target: "es2022",
    sourcemap: false,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1500,
    assetsInlineLimit: 0,
  },
});
