// For diagnosis in the soak (imported by soak-bot.mjs): what a connection says about itself when a member's chat
// stalls (`diagnose`), and a short history of each data-channel transport — which DTLS transport it was put on, when
// SCTP was started and in which role, the association states, the handshake chunks sent and received — kept on the
// transport (`parleyTrace`, at most 40 entries) so a stalled member's diag line shows how it got there. The history
// comes from wrapping methods of werift's SCTP objects in this process; nothing outside the soak does this.
import { RTCDtlsTransport, RTCSctpTransport } from "@parley/werift";

const HANDSHAKE = { 1: "INIT", 2: "INIT-ACK", 6: "ABORT", 10: "COOKIE-ECHO", 11: "COOKIE-ACK", 7: "SHUTDOWN" };
const MAX = 40;
const t0 = Date.now();

function note(transport, what) {
  transport.parleyTrace ??= [];
  if (transport.parleyTrace.length < MAX) transport.parleyTrace.push(`${Date.now() - t0}ms ${what}`);
}

const { setDtlsTransport, start } = RTCSctpTransport.prototype;
RTCSctpTransport.prototype.setDtlsTransport = function (dtls) {
  const before = this.sctp;
  note(this, `dtls ${dtls.id.slice(0, 8)} (${dtls.state}, was ${this.dtlsTransport?.id.slice(0, 8) ?? "-"})`);
  setDtlsTransport.call(this, dtls);
  if (this.sctp !== before) watch(this, this.sctp);
};
RTCSctpTransport.prototype.start = function (remotePort) {
  note(this, `start as ${this.isServer ? "server" : "client"} port ${remotePort}`);
  return start.call(this, remotePort);
};

/** Lines `from` to `to` of a stack, each as "function (file:line)", joined innermost first. */
const frames = (stack, from, to) =>
  String(stack ?? "")
    .split("\n")
    .slice(from, to)
    .map((l) =>
      l
        .trim()
        .replace(/^at /, "")
        .replace(/\(.*\/(.*?)\)$/, "($1)"),
    )
    .join(" < ");

// A DTLS handshake that fails is printed at once with werift's reason and where it was thrown: the member reports
// only that it failed, and the reason (a message for another association, a retransmission budget spent, a
// certificate check) decides what to look at.
export function printDtlsFailures(name) {
  const { start } = RTCDtlsTransport.prototype;
  RTCDtlsTransport.prototype.start = async function () {
    const began = Date.now();
    try {
      return await start.call(this);
    } catch (err) {
      const where = frames(err?.stack, 1, 5);
      console.log(
        `${name}: dtls failed ${new Date().toISOString()} ${this.id.slice(0, 8)} as ${this.role} (ICE ` +
          `${this.iceTransport.role}, ${this.iceTransport.state}) after ${Date.now() - began} ms: ` +
          `${err?.message ?? err} at ${where}`,
      );
      throw err;
    }
  };
}

function watch(transport, sctp) {
  const { setState, receiveChunk, sendChunk, stop, handleData, init, parleyCrossedStart } = sctp;
  sctp.init = function () {
    note(transport, `init() in state ${this.associationState}, ${this.isServer ? "server" : "client"}`);
    return init.call(this);
  };
  sctp.parleyCrossedStart = function () {
    note(transport, "waiting 1 s for an INIT before sending ours");
    return parleyCrossedStart.call(this);
  };
  // Where a close comes from: CLOSED also stops the association from handling anything (isClosed).
  const caller = () => frames(new Error().stack, 3, 6);
  sctp.setState = function (state) {
    if (state !== this.associationState || state === 1) {
      note(transport, `association ${this.associationState}→${state}${state === 1 ? ` from ${caller()}` : ""}`);
    }
    return setState.call(this, state);
  };
  sctp.stop = function () {
    note(transport, `stop from ${caller()}`);
    return stop.call(this);
  };
  let ignored = 0;
  sctp.handleData = function (data) {
    if (this.isStopped && ignored++ === 0) note(transport, "a packet ignored: association stopped or closed");
    return handleData.call(this, data);
  };
  sctp.receiveChunk = function (chunk) {
    const name = HANDSHAKE[chunk.type];
    if (name) note(transport, `got ${name} (state ${this.associationState}, ${this.isServer ? "server" : "client"})`);
    return receiveChunk.call(this, chunk);
  };
  sctp.sendChunk = async function (chunk) {
    const name = HANDSHAKE[chunk.type];
    try {
      const sent = await sendChunk.call(this, chunk);
      if (name) note(transport, `sent ${name}`);
      return sent;
    } catch (err) {
      note(transport, `send ${name ?? chunk.type} failed: ${err.message}`);
      throw err;
    }
  };
}

// What the connection's transports say about themselves, printed on a member's first stall: the DTLS and ICE roles,
// the SCTP association and every data channel werift holds (stream id, state, messages), and the descriptions' lines
// that decide them.
export function diagnose(pc) {
  const sctp = pc.sctpTransport;
  const sdpLines = (d) =>
    (d?.sdp ?? "")
      .split("\r\n")
      .filter((l) =>
        /^(m=|a=(mid|setup|ice-ufrag|sctp-port|max-message-size|group|inactive|sendrecv|recvonly|sendonly))/.test(l),
      )
      .join(" | ");
  return {
    dtls: pc.dtlsTransports.map(
      (t) => `${t.id.slice(0, 8)}:${t.state}:${t.role}:ice-${t.iceTransport.role}:${t.iceTransport.state}`,
    ),
    sctp: sctp && {
      association: sctp.sctp?.associationState,
      state: sctp.sctp?.state,
      started: sctp.sctp?.started,
      isServer: sctp.sctp?.isServer,
      init: `${sctp.sctp?.timer1Failures} ${sctp.sctp?.timer1Handle ? "armed" : "-"}`,
      ports: `${sctp.sctp?.localPort}/${sctp.sctp?.remotePort}`,
      trace: sctp.parleyTrace,
      dtls: sctp.dtlsTransport?.id.slice(0, 8),
      mid: sctp.mid,
      nextId: sctp.dataChannelId,
      queued: sctp.dataChannelQueue.length,
      channels: Object.entries(sctp.dataChannels).map(
        ([id, c]) => `${id}:${c.label}:${c.readyState}:in ${c.messagesReceived}:out ${c.messagesSent}`,
      ),
    },
    local: sdpLines(pc.localDescription),
    remote: sdpLines(pc.remoteDescription),
  };
}
