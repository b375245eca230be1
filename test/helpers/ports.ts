import { createSocket } from "node:dgram";
import { createServer } from "node:net";

/**
 * A port that is free on 127.0.0.1 for both TCP and UDP right now. There is a window between this check and the
 * program binding it; `startProgram` retries on a bind failure, so a lost race costs a retry, not a flaky test.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        const address = server.address();
        server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
      });
    });
    if (await udpFree(port)) return port;
  }
  throw new Error("no port free for both TCP and UDP on 127.0.0.1 after 20 tries");
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket("udp4");
    socket.once("error", () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, "127.0.0.1", () => socket.close(() => resolve(true)));
  });
}
