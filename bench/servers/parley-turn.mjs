// Runs Parley's TURN server in its own process for a benchmark, so its CPU time is measured apart from the load.
import { createTurnServer } from "@parley/turn";

const server = await createTurnServer({
  listeningIps: ["127.0.0.1"],
  listeningPort: Number(process.argv[2] ?? 0),
}).listen();
console.log(`listening ${server.addresses[0].port}`);
process.on("SIGTERM", async () => {
  await server.close();
  process.exit(0);
});
