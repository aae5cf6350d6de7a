import { defineConfig } from 'vitest/config';

// Browser tests: the real server as a child process, the Document Server stand-in, and Debian's
// Chromium driven by playwright-core. One file at a time: each starts its own server and browser.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
