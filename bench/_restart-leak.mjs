// Two bots in one room; B restarts ICE every RESTART_MS; after each settle, gc() and print heap/external/rss.

import v8 from "node:v8";
import { Peer } from "@parley/peer";
import { createSignalServer } from "@parley/signal";

const RESTART_MS = Number(process.env.RESTART_MS ?? 3000);
const ROUNDS = Number(process.env.ROUNDS ?? 40);
const server = createSignalServer();
const url = `ws://127.0.0.1:${await server.listen(0)}`;
const rtc = { iceUseIpv6: false, iceAdditionalHostAddresses: ["127.0.0.1"] };
const a = await Peer.connect(url, { rtc });
const b = await Peer.connect(url, { rtc });
const ra = await a.join("r", { receive: { audio: false, video: false } });
await ra.openChannel("chat");
const rb = await b.join("r", { receive: { audio: false, video: false } });
await new Promise((r) => setTimeout(r, 3000));
const chat = setInterval(() => ra.send("chat", "x".repeat(100)).catch(() => {}), 100);
const sample = (i) => {
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  console.log(
    `${i} heap ${(m.heapUsed / 2 ** 20).toFixed(2)} ext ${(m.external / 2 ** 20).toFixed(2)} ab ${(m.arrayBuffers / 2 ** 20).toFixed(2)} rss ${(m.rss / 2 ** 20).toFixed(1)} state ${[...rb.members.values()][0]?.connectionState}`,
  );
};
sample(0);
for (let i = 1; i <= ROUNDS; i++) {
  for (const m of rb.members.values()) m.restartIce();
  await new Promise((r) => setTimeout(r, RESTART_MS));
  if (i % 5 === 0) sample(i);
}
if (process.env.SNAP) v8.writeHeapSnapshot(process.env.SNAP);
clearInterval(chat);
await a.close();
await b.close();
await server.close();
