/**
 * Gives the page a channel the far end opened, once the browser can really send on it. Chromium announces such a
 * channel (readyState already "open") before its network thread has finished setting it up — the DCEP ACK is not sent
 * yet — and a send() made in that window fails inside Chromium ("Send failed INVALID_STATE" in its log) while the
 * page sees no error: the message is simply lost. Under CPU load this hit about 1 page in 20 that said hello from
 * ondatachannel. getStats() is queued behind that setup on the same browser threads, so once it settles, sends go
 * through. Messages that arrive in the meantime are held and replayed to the page's handlers, in order.
 *
 * Pages with their own negotiation code call this from `ondatachannel`; `joinRoom` does it for its members.
 */
export function handOverChannel(pc: RTCPeerConnection, channel: RTCDataChannel, deliver: () => void): void {
  const held: unknown[] = [];
  const hold = (event: MessageEvent) => held.push(event.data);
  channel.addEventListener("message", hold);
  pc.getStats()
    .catch(() => undefined)
    .then(() => {
      channel.removeEventListener("message", hold);
      deliver();
      for (const data of held) channel.dispatchEvent(new MessageEvent("message", { data }));
    });
}
