import { isIPv6 } from "node:net";
import { ErrorCode, encodeAddressErrorCode } from "../../stun/attributes/error-code.js";
import { encodeXorAddress } from "../../stun/attributes/xor-address.js";
import { AttributeType, StunClass } from "../../stun/constants.js";
import { MessageBuilder, type StunMessage } from "../../stun/message.js";
import { Allocation, type Relay } from "../allocation.js";
import type { Authenticated } from "../authenticate.js";
import type { ClientLink } from "../client-link.js";
import { RelayPorts } from "../relay-ports.js";
import { u32 } from "../responses.js";
import type { Reply, TurnMethodHandler } from "../turn-method.js";
import { DEFAULT_LIFETIME, type MethodHost } from "./host.js";

const TRANSPORT_UDP = 17;
const TRANSPORT_TCP = 6;

/**
 * Allocate (RFC 8656 §7, RFC 6062 §5.1): validates the request, takes a quota slot from the whole server, binds the
 * relay port(s) — or claims a reserved one, from whichever relay thread reserved it — and answers with the relayed
 * address. A retransmission gets the first answer again.
 */
export const allocate =
  (host: MethodHost): TurnMethodHandler =>
  async (msg, link, auth, reply) => {
    const txid = msg.transactionId.toString("hex");
    const inFlight = host.allocating.get(link.key);
    if (inFlight !== undefined) {
      // The original request will be answered when its relay port is bound; a retransmission waits for that.
      if (inFlight === txid) return undefined;
      return host.refuse(msg, link, ErrorCode.AllocationMismatch, "an Allocate is already in progress", reply);
    }
    const existing = host.allocations.get(link.key);
    if (existing) {
      // RFC 8656 §7.2: a retransmitted Allocate gets the original success; any other Allocate on the 5-tuple is 437.
      if (existing.transactionId === txid) return allocateSuccess(host, msg, existing, link, undefined, reply);
      return host.refuse(msg, link, ErrorCode.AllocationMismatch, "allocation already exists for this 5-tuple", reply);
    }
    const transport = msg.get(AttributeType.RequestedTransport);
    if (transport?.length !== 4) {
      return host.refuse(msg, link, ErrorCode.BadRequest, "REQUESTED-TRANSPORT missing or malformed", reply);
    }
    const tcpRelay = transport[0] === TRANSPORT_TCP;
    if (transport[0] !== TRANSPORT_UDP && !tcpRelay) {
      return host.refuse(
        msg,
        link,
        ErrorCode.UnsupportedTransportProtocol,
        `REQUESTED-TRANSPORT ${transport[0]} is neither UDP (17) nor TCP (6)`,
        reply,
      );
    }
    if (tcpRelay && !link.stream) {
      return host.refuse(
        msg,
        link,
        ErrorCode.BadRequest,
        "a TCP relay (RFC 6062) needs a TCP or TLS connection",
        reply,
      );
    }
    const evenPort = msg.get(AttributeType.EvenPort);
    const token = msg.get(AttributeType.ReservationToken);
    if (token && evenPort) {
      return host.refuse(msg, link, ErrorCode.BadRequest, "RESERVATION-TOKEN and EVEN-PORT together", reply);
    }
    const family = msg.get(AttributeType.RequestedAddressFamily);
    if (family && (family.length !== 4 || (family[0] !== 0x01 && family[0] !== 0x02))) {
      return host.refuse(msg, link, ErrorCode.BadRequest, "REQUESTED-ADDRESS-FAMILY malformed", reply);
    }
    const additional = msg.get(AttributeType.AdditionalAddressFamily);
    if (additional && (additional.length !== 4 || additional[0] !== 0x02 || family || token || tcpRelay)) {
      return host.refuse(
        msg,
        link,
        ErrorCode.BadRequest,
        "ADDITIONAL-ADDRESS-FAMILY must be IPv6, for a UDP relay, without REQUESTED-ADDRESS-FAMILY or a token",
        reply,
      );
    }
    if (family && token) {
      return host.refuse(
        msg,
        link,
        ErrorCode.BadRequest,
        "RESERVATION-TOKEN and REQUESTED-ADDRESS-FAMILY together",
        reply,
      );
    }
    // RFC 8656 §7.2: without REQUESTED-ADDRESS-FAMILY the relay is IPv4, whatever family the client connected over.
    const wantV6 = family !== undefined && family[0] === 0x02;
    const relayIp = host.relayIpFor(wantV6 ? 6 : 4);
    if (!relayIp) {
      return host.refuse(
        msg,
        link,
        ErrorCode.AddressFamilyNotSupported,
        `no IPv${wantV6 ? 6 : 4} relay address`,
        reply,
      );
    }
    // From here until the allocation exists or has failed, a retransmission of this Allocate waits (see above).
    host.allocating.set(link.key, txid);
    let slot = false;
    try {
      slot = await host.ctx.acquire(auth.username);
      if (!slot) return host.refuse(msg, link, ErrorCode.AllocationQuotaReached, "allocation quota reached", reply);
      return await createAllocation(host, msg, link, auth, reply, {
        tcpRelay,
        token,
        evenPort,
        relayIp,
        txid,
        dual: additional !== undefined,
      });
    } finally {
      host.allocating.delete(link.key);
      // The slot stays taken only by an allocation this request created.
      if (slot && host.allocations.get(link.key)?.transactionId !== txid) host.ctx.release(auth.username);
    }
  };

async function createAllocation(
  host: MethodHost,
  msg: StunMessage,
  link: ClientLink,
  auth: Authenticated,
  reply: Reply,
  req: {
    tcpRelay: boolean;
    token: Buffer | undefined;
    evenPort: Buffer | undefined;
    relayIp: string;
    txid: string;
    dual: boolean;
  },
): Promise<Buffer> {
  const { tcpRelay, token, evenPort, relayIp, txid } = req;
  let relay: Relay;
  let reservation: Buffer | undefined;
  if (tcpRelay) {
    const got = await host.ports.allocateTcp(relayIp);
    if (!got) return host.refuse(msg, link, ErrorCode.InsufficientCapacity, "no relay port available", reply);
    relay = { kind: "tcp", ...got };
  } else if (token) {
    const claimed = await claimReservation(host, token);
    if (!claimed) {
      return host.refuse(msg, link, ErrorCode.InsufficientCapacity, "reservation token unknown or expired", reply);
    }
    relay = { kind: "udp", ...claimed };
  } else {
    const reserveNext = evenPort !== undefined && evenPort.length >= 1 && (evenPort[0]! & 0x80) !== 0;
    const got = await host.ports.allocate(relayIp, { even: evenPort !== undefined, reserveNext });
    if (!got) return host.refuse(msg, link, ErrorCode.InsufficientCapacity, "no relay port available", reply);
    relay = { kind: "udp", ...got.relay };
    reservation = got.token;
  }
  // RFC 8656 §7.2 dual allocation: an IPv6 relay besides the IPv4 one, or ADDRESS-ERROR-CODE 440 if there is none.
  let relay6: Relay | undefined;
  let family6Error = false;
  const relayIp6 = req.dual ? host.relayIpFor(6) : undefined;
  if (relayIp6) {
    const got6 = await host.ports.allocate(relayIp6);
    if (got6) relay6 = { kind: "udp", ...got6.relay };
    else family6Error = true;
  } else if (req.dual) family6Error = true;
  // The awaits above may have let a retransmission or a close in; recheck before committing.
  if (host.state !== "listening" || host.allocations.has(link.key)) {
    if (relay.kind === "udp") relay.socket.close();
    else relay.server.close();
    if (relay6?.kind === "udp") relay6.socket.close();
    return host.refuse(msg, link, ErrorCode.AllocationMismatch, "allocation already exists for this 5-tuple", reply);
  }
  const lifetime = host.grantLifetime(msg, DEFAULT_LIFETIME);
  const allocation = new Allocation(
    link,
    relay,
    auth.username,
    auth.key,
    txid,
    lifetime,
    host.options.maxBytesPerSecond ?? 0,
  );
  allocation.relay6 = relay6;
  allocation.family6Error = family6Error;
  if (relay6?.kind === "udp")
    relay6.socket.on("message", (data, from) => host.dataPlane.fromPeer(allocation, data, from));
  if (relay.kind === "udp") relay.socket.on("message", (data, from) => host.dataPlane.fromPeer(allocation, data, from));
  else relay.server.on("connection", (socket) => host.tcpRelay.peerConnected(allocation, socket));
  if (host.options.mobility && msg.has(AttributeType.MobilityTicket)) host.tickets.issue(allocation);
  host.allocations.set(link.key, allocation);
  host.counters.allocations++;
  host.emit("allocation-created", { ...host.info(allocation), lifetime });
  return allocateSuccess(host, msg, allocation, link, reservation, reply);
}

function allocateSuccess(
  host: MethodHost,
  msg: StunMessage,
  allocation: Allocation,
  link: ClientLink,
  reservation: Buffer | undefined,
  reply: Reply,
): Buffer {
  const tid = msg.transactionId;
  const lifetime = Math.max(0, Math.round((allocation.expiresAt - Date.now()) / 1000));
  // -X/--external-ip stands for the relay address of its own family only.
  const external = host.options.externalIp;
  const useExternal = external !== undefined && isIPv6(external) === isIPv6(allocation.relay.address);
  const relayed = { address: useExternal ? external : allocation.relay.address, port: allocation.relay.port };
  const b = new MessageBuilder(msg.method, StunClass.SuccessResponse, tid).add(
    AttributeType.XorRelayedAddress,
    encodeXorAddress(relayed, tid),
  );
  if (allocation.relay6) b.add(AttributeType.XorRelayedAddress, encodeXorAddress(allocation.relay6, tid));
  if (allocation.family6Error)
    b.add(AttributeType.AddressErrorCode, encodeAddressErrorCode(6, ErrorCode.AddressFamilyNotSupported));
  b.add(AttributeType.Lifetime, u32(lifetime)).add(
    AttributeType.XorMappedAddress,
    encodeXorAddress({ address: link.remoteAddress, port: link.remotePort }, tid),
  );
  if (reservation) b.add(AttributeType.ReservationToken, reservation);
  if (allocation.ticket) b.add(AttributeType.MobilityTicket, Buffer.from(allocation.ticket, "hex"));
  return host.seal(b, reply);
}

/** A RESERVATION-TOKEN's port: held here, or freed for us by the thread that reserved it. */
async function claimReservation(host: MethodHost, token: Buffer) {
  const claimed = host.ports.claim(token);
  const owner = RelayPorts.owner(token);
  if (claimed || owner === host.ctx.worker || !host.ctx.elsewhere) return claimed;
  const freed = await host.ctx.elsewhere.takeReservation(owner, token).catch(() => undefined);
  return freed && host.ports.bindExact(freed.address, freed.port);
}
