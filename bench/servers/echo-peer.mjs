// A UDP echo peer for relay benchmarks: every datagram goes back where it came from.
import { createSocket } from "node:dgram";

const socket = createSocket("udp4");
socket.on("message", (data, from) => socket.send(data, from.port, from.address));
socket.bind(Number(process.argv[2] ?? 0), "127.0.0.1", () => console.log(`listening ${socket.address().port}`));
process.on("SIGTERM", () => socket.close(() => process.exit(0)));
