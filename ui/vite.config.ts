import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The desktop shell loads `dist/` (tauri.conf.json `frontendDist`); in development the
// Tauri CLI points the window at this dev server instead.
export default defineConfig({
  plugins: [react()],
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: { target: "safari16", sourcemap: false, chunkSizeWarningLimit: 1500 },
});
