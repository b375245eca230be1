// Parley's signalling server in its own process for the benchmark. The per-connection rate limit is raised so the
// benchmark measures relaying capacity (PeerJS has no rate limit); every other default is as shipped.
import { createSignalServer } from "@parley/signal";
import { answerRssRequests } from "../lib.mjs";

answerRssRequests();

const server = createSignalServer({ messagesPerSecond: 1_000_000 });
const port = await server.listen(Number(process.argv[2]));
console.log(`listening ${port}`);
process.on("SIGTERM", async () => {
  await server.close();
  process.exit(0);
});
