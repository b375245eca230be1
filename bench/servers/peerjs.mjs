// The reference for the signalling benchmark: the PeerJS server (npm `peer`), in its own process, default options.
import { PeerServer } from "peer";
import { answerRssRequests } from "../lib.mjs";

answerRssRequests();

const port = Number(process.argv[2]);
const server = PeerServer({ port, host: "127.0.0.1", path: "/" }, () => console.log(`listening ${port}`));
process.on("SIGTERM", () => server.close?.(() => process.exit(0)) ?? process.exit(0));
