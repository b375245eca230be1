import { tools } from "./tools.mjs";

/**
 * Whether a suite that needs `name` can run. Missing under CI=true is an error (CI must never skip silently);
 * elsewhere the suite is skipped and the test runner has already said which tool is missing.
 */
export function hasTool(name: string): boolean {
  const tool = tools.find((t) => t.name === name);
  if (!tool) throw new Error(`unknown tool "${name}"`);
  if (tool.present()) return true;
  if (process.env.CI === "true") {
    throw new Error(`CI=true and ${name} is missing (Debian package ${tool.debian}); ${tool.suites} cannot run`);
  }
  return false;
}
