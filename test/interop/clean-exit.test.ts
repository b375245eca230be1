// After close() and stop(), nothing of Parley keeps a process alive: a bot ends when its work ends, as Node
// programs do. The bot (test/helpers/clean-exit-bot.mjs) runs in its own process and must exit by itself within a
// second of closing everything, with its recording finalized.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { makeWebm } from "../helpers/ffmpeg.js";
import { hasTool } from "../helpers/require-tool.js";

const bot = fileURLToPath(new URL("../helpers/clean-exit-bot.mjs", import.meta.url));

describe.skipIf(!hasTool("ffmpeg"))("clean exit", () => {
  it("a bot that closed its peers, recorder and servers exits by itself within 1 s", async () => {
    const dir = mkdtempSync(join(tmpdir(), "parley-clean-exit-"));
    const child = spawn(process.execPath, [bot, makeWebm(3), dir], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let closedAt: number | undefined;
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk;
      closedAt ??= /closed (\d+)/.exec(output) ? Date.now() : undefined;
      if (output.includes("still alive")) child.kill("SIGKILL"); // it has said what holds it; no need to wait
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk;
    });
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      child.once("exit", (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    const exitedAt = Date.now();
    expect(closedAt, output).toBeDefined();
    expect(code, output).toBe(0);
    expect(exitedAt - closedAt!, output).toBeLessThan(1000);
    expect(output).not.toContain("still alive");
    expect(readdirSync(dir).filter((f) => f.endsWith(".webm"))).toHaveLength(1);
  });
});
