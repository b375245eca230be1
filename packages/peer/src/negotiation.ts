import type { RTCIceCandidateInit, RTCPeerConnection, RTCSessionDescriptionInit } from "@parley/werift";

/** What goes over signalling for one member: the kinds of @parley/signal's `signal` message. */
export type Outgoing =
  | { kind: "offer" | "answer"; payload: { type: "offer" | "answer"; sdp: string } }
  | { kind: "candidate"; payload: RTCIceCandidateInit }
  | { kind: "end-of-candidates"; payload: null }
  | { kind: "restart"; payload: null | { plan: number } | { renew: number } | { renewed: number } };

/**
 * Perfect negotiation (W3C webrtc-pc §10.7 example): either side may start a negotiation at any time; when both
 * offer at once ("glare"), the polite side rolls back its offer and accepts the other's, the impolite side ignores
 * the incoming offer. Which side is polite is decided from the member ids, so both agree without talking.
 *
 * Incoming signals are handled one at a time (a queue), since each step awaits werift and a later candidate must not
 * overtake the description it belongs to.
 */
export class PerfectNegotiation {
  private makingOffer = false;
  private ignoreOffer = false;
  private settingRemoteAnswer = false;
  private queue: Promise<void> = Promise.resolve();
  /** Candidates gathered while our description is being set, sent right after it. */
  private heldCandidates: Outgoing[] | undefined;
  private closed = false;

  constructor(
    private readonly pc: RTCPeerConnection,
    readonly polite: boolean,
    private readonly sendSignal: (message: Outgoing) => void,
    private readonly onError: (err: Error) => void,
  ) {
    pc.onnegotiationneeded = () => void this.negotiate();
    pc.onicecandidate = ({ candidate }) => {
      if (this.closed) return;
      const message: Outgoing = candidate
        ? { kind: "candidate", payload: candidate.toJSON() }
        : { kind: "end-of-candidates", payload: null };
      // werift gathers inside setLocalDescription; its candidates must not overtake the description they belong to.
      if (this.heldCandidates) this.heldCandidates.push(message);
      else this.send(message);
    };
  }

  /** Creates and sends an offer now (what onnegotiationneeded does; also the first offer of a newcomer). */
  negotiate(iceRestart = false): Promise<void> {
    return this.enqueue(async () => {
      if (this.closed || this.pc.signalingState !== "stable") return; // a negotiation is under way; it will re-fire
      try {
        this.makingOffer = true;
        const offer = await this.pc.createOffer(iceRestart ? { iceRestart: true } : undefined);
        if (this.pc.signalingState !== "stable") return; // an offer came in meanwhile: glare, handled there
        await this.describe(offer, (sdp) => ({
          kind: "offer",
          payload: { type: "offer", sdp: offerSetupActpass(sdp) },
        }));
      } finally {
        this.makingOffer = false;
      }
    });
  }

  /** An offer or answer from the member. */
  description(description: RTCSessionDescriptionInit): Promise<void> {
    return this.enqueue(async () => {
      if (this.closed) return;
      const readyForOffer = !this.makingOffer && (this.pc.signalingState === "stable" || this.settingRemoteAnswer);
      const collision = description.type === "offer" && !readyForOffer;
      this.ignoreOffer = !this.polite && collision;
      if (this.ignoreOffer) return;
      if (collision) await this.pc.setLocalDescription({ type: "rollback" });
      this.settingRemoteAnswer = description.type === "answer";
      try {
        await this.pc.setRemoteDescription(description);
      } finally {
        this.settingRemoteAnswer = false;
      }
      if (description.type === "offer") {
        const answer = await this.pc.createAnswer();
        await this.describe(answer, (sdp) => ({ kind: "answer", payload: { type: "answer", sdp } }));
      }
    });
  }

  candidate(candidate: RTCIceCandidateInit | null): Promise<void> {
    return this.enqueue(async () => {
      if (this.closed) return;
      // The end of an ignored offer's candidates is not the end of ours: werift would apply it to the ICE agent as it
      // is now — after an ICE restart of our own, the one that has no candidates yet — and then drop every candidate
      // of the answer that settles the glare, failing ICE at once (both ends restarting at the same moment hung).
      if (candidate === null && this.ignoreOffer) return;
      try {
        await this.pc.addIceCandidate(candidate ?? undefined);
      } catch (err) {
        // Candidates for an offer we ignored are expected to fail; anything else is a real problem.
        if (!this.ignoreOffer) throw err;
      }
    });
  }

  /**
   * Sets our description, sends it, then the candidates gathered meanwhile that it does not carry. werift gathers
   * inside setLocalDescription, so the description usually has them all already: sending each again spent the
   * signalling rate budget, and a bot in 50 rooms joined at once waited its turn for ~250 messages instead of ~100
   * (50 connections up in 3.5 s instead of 1.6 s, bench/recordings-per-core.mjs). Later candidates (TURN, or any
   * gathered after the description) still trickle; end-of-candidates is always sent.
   */
  private async describe(description: RTCSessionDescriptionInit, message: (sdp: string) => Outgoing): Promise<void> {
    this.heldCandidates = [];
    let carried = new Set<string>();
    try {
      await this.pc.setLocalDescription(description);
      const { sdp } = this.pc.localDescription!;
      carried = new Set(sdp.split(/\r?\n/).filter((line) => line.startsWith("a=candidate:")));
      this.send(message(sdp));
    } finally {
      const held = this.heldCandidates;
      this.heldCandidates = undefined;
      for (const candidate of held) {
        if (candidate.kind !== "candidate" || !carried.has(`a=${candidate.payload.candidate}`)) this.send(candidate);
      }
    }
  }

  /**
   * Nothing once closed: a step that was awaiting werift when its connection was replaced (a renewal) would otherwise
   * send that connection's description or candidates after the far end has moved to the new one.
   */
  private send(message: Outgoing): void {
    if (!this.closed) this.sendSignal(message);
  }

  close(): void {
    this.closed = true;
    this.pc.onnegotiationneeded = null;
    this.pc.onicecandidate = null;
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    const run = this.queue.then(step);
    this.queue = run.catch((err: Error) => {
      if (!this.closed) this.onError(err);
    });
    return this.queue;
  }
}

/**
 * werift writes the DTLS role it already has (`a=setup:active`/`passive`) into re-offers. RFC 8842 §5.2 has every
 * offer say `actpass`; browsers do, and aiortc refuses anything else ("DTLS setup attribute must be 'actpass' for an
 * offer"). The answerer keeps the role it has, so the DTLS association is unchanged.
 */
export function offerSetupActpass(sdp: string): string {
  return sdp.replace(/^a=setup:(active|passive)\r?$/gm, (line) => line.replace(/active|passive/, "actpass"));
}
