import { afterAll, beforeAll, expect, it } from "vitest";
import { createSignalServer, SignalClient, type SignalServer } from "../src/index.js";
import { until } from "./helpers/events.js";

const N = 1000;
let server: SignalServer;
let clients: SignalClient[] = [];

beforeAll(async () => {
  server = createSignalServer();
  const url = `ws://127.0.0.1:${await server.listen(0)}`;
  // Connect in waves of 100 so the test measures the server holding 1,000 sessions, not the kernel's accept backlog.
  for (let i = 0; i < N; i += 100) {
    clients.push(...(await Promise.all(Array.from({ length: 100 }, () => SignalClient.connect(url)))));
  }
});
afterAll(async () => {
  for (const c of clients) c.close();
  clients = [];
  await server.close();
});

it("holds 1,000 concurrent clients in 500 rooms and routes every pair's offer and answer", async () => {
  expect(server.sessionCount).toBe(N);
  await Promise.all(clients.map((c, i) => c.join(`pair-${i >> 1}`)));
  let offers = 0;
  let answers = 0;
  for (const c of clients) {
    c.on("signal", (m) => {
      if (m.kind === "offer") {
        offers++;
        void c.signal(m.room, m.from, "answer", { sdp: "answer" });
      } else answers++;
    });
  }
  await Promise.all(
    clients.map((c, i) =>
      i % 2 === 0 ? c.signal(`pair-${i >> 1}`, clients[i + 1]!.sessionId, "offer", { sdp: "offer" }) : undefined,
    ),
  );
  await until(() => offers === N / 2 && answers === N / 2, 20_000, "500 offers and 500 answers");
  expect(offers).toBe(N / 2);
  expect(answers).toBe(N / 2);
});
