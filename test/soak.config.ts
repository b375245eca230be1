import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// `pnpm soak`: the long run of test/soak (not part of `pnpm test`). SOAK_MINUTES sets its length (default 30).
const root = fileURLToPath(new URL("..", import.meta.url));
const minutes = Number(process.env.SOAK_MINUTES ?? 30);

export default defineConfig({
  resolve: { conditions: ["parley-source", "module", "node", "import", "default"] },
  ssr: {
    resolve: { conditions: ["parley-source", "node", "import", "default"], externalConditions: ["parley-source"] },
  },
  test: {
    root,
    include: ["test/soak/**/*.soak.ts"],
    testTimeout: (minutes + 5) * 60_000,
    hookTimeout: 120_000,
  },
});
