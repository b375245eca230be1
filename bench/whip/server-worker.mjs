// The measured process: a signalling server and a WHIP/WHEP server in one Node process, as `parley whip-server` beside
// `parley-signal` would run on one machine. Prints "ready <http port>"; "stop" on stdin closes it.
import { createServer } from "node:http";
import { createWhipServer } from "@parley/peer";
import { createSignalServer } from "@parley/signal";

const LOOPBACK = { iceUseIpv6: false, iceAdditionalHostAddresses: ["127.0.0.1"] };
const signal = createSignalServer({ roomsPerConnection: 4 });
const signalUrl = `ws://127.0.0.1:${await signal.listen(0)}`;
const whip = createWhipServer({ signalUrl, maxSessions: 1000, peer: { rtc: LOOPBACK }, rtc: LOOPBACK });
const http = createServer((req, res) => {
  if (!whip.handle(req, res)) res.writeHead(404).end();
});
await new Promise((r) => http.listen(0, "127.0.0.1", r));
console.log(`ready ${http.address().port}`);
process.stdin.on("data", async (d) => {
  if (!String(d).includes("stop")) return;
  await whip.close();
  await signal.close();
  http.closeAllConnections();
  http.close();
  console.log("stopped");
  process.exit(0);
});
