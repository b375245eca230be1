// Parley's signalling server in its own process for the benchmark. The per-connection rate limit is raised so the
// benchmark measures relaying capacity (PeerJS has no rate limit); every other default is as shipped.
import { createSignalServer } from "@parley/signal";
import { answerRssRequests } from "../lib.mjs";

answerRssRequests();

// BENCH_REDIS: the node shares its sessions through this Redis (the multi-node setup), as `--redis` would.
const redis = process.env.BENCH_REDIS;
const server = createSignalServer({ messagesPerSecond: 1_000_000, ...(redis ? { redis } : {}) });
if (!(await server.ready(10_000))) throw new Error(`Redis ${redis} not reachable`);
const port = await server.listen(Number(process.argv[2]));
console.log(`listening ${port}`);
process.on("SIGTERM", async () => {
  await server.close();
  process.exit(0);
});
