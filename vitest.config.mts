import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds dist/ when src/ is newer, probes the kernel once (JAIL_LANDLOCK_ABI caps it).
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default', './test/skip-reasons.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
