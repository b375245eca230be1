import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const root = fileURLToPath(new URL("..", import.meta.url));

// Workspace packages export "parley-source" → src/index.ts, so suites run against the source without a build step.
const resolve = { conditions: ["parley-source", "module", "node", "import", "default"] };
const ssr = {
  resolve: { conditions: ["parley-source", "node", "import", "default"], externalConditions: ["parley-source"] },
};

const unit = (name: string) => ({
  resolve,
  ssr,
  test: { name, root, include: [`packages/${name}/test/**/*.test.ts`], testTimeout: 20_000 },
});

export default defineConfig({
  test: {
    root,
    projects: [
      unit("turn"),
      unit("signal"),
      unit("peer"),
      unit("werift"),
      {
        resolve,
        ssr,
        test: {
          name: "interop",
          root,
          include: ["test/**/*.test.ts"],
          globalSetup: ["test/helpers/global-setup.ts"],
          // One interop file at a time: they start real servers, browsers and encoders on loopback, and two at once
          // on two cores collided on ports and starved each other's media (flaky coturn mobility, Chromium, rotation).
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
