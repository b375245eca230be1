// Patch 28: a ClientHello that reaches the DTLS server after the handshake is done is a late copy of one it answered
// (a client retransmits while an ICE restart moves the path, and both copies arrive) and is ignored. werift started
// the handshake over on it: new keys on the server only, so nothing the server sent could be read any more — found
// as an SCTP association stuck half open (COOKIE-ACK never read) under a storm of renewals and ICE restarts. Here the
// copy is real: the DTLS client's own last ClientHello datagram, captured as it went out and sent again on the same
// ICE connection once the call is up.
import { expect, it } from "vitest";
import { bothWaysFlow, connected, loopbackPeers, nextChannel, opened } from "./loopback.js";

const newPeer = loopbackPeers();

/** A DTLS handshake record (content type 22) whose first message is a ClientHello (handshake type 1). */
const isClientHello = (datagram: Buffer) => datagram[0] === 22 && datagram[13] === 1;

it("a copy of the client's ClientHello arriving after the handshake changes nothing: data keeps flowing both ways", async () => {
  const a = newPeer();
  const b = newPeer();
  const atA = a.createDataChannel("chat");
  const atB = nextChannel(b);
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription!);
  // b answers, so b is the DTLS client (a=setup:active); capture what its DTLS sends on its ICE connection.
  const connection = b.dtlsTransports[0]!.iceTransport.connection;
  const send = connection.send.bind(connection);
  const hellos: Buffer[] = [];
  connection.send = (data: Buffer) => {
    if (isClientHello(data)) hellos.push(Buffer.from(data));
    return send(data);
  };
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription!);
  const channelB = await atB;
  await Promise.all([connected(a), connected(b), opened(atA), opened(channelB)]);
  expect(b.dtlsTransports[0]!.role).toBe("client");
  expect(hellos.length).toBeGreaterThan(0);

  await send(hellos.at(-1)!);
  await new Promise((resolve) => setTimeout(resolve, 200));
  await bothWaysFlow(atA, channelB);
  expect([a.connectionState, b.connectionState]).toEqual(["connected", "connected"]);
});
