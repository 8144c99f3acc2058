import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Worker threads of the runtime run compiled JavaScript: build it first (fast when fresh).
    globalSetup: ["test/runtime/global-setup.ts"],
  },
});
