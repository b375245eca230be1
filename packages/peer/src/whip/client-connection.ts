import { randomBytes } from "node:crypto";
import { RTCPeerConnection, type RTCPeerConnectionConfig } from "@parley/werift";
import { formatSdpFrag, type SdpFrag } from "./sdp-frag.js";
import { WhipError } from "./whip-error.js";

/** How long to wait for our candidates before answering with the ones there are (host candidates come at once). */
const GATHER_WAIT_MS = 3000;
/** Remote candidates one session may add over its life (trickle and restarts); ICE needs a few dozen. */
const MAX_REMOTE_CANDIDATES = 256;
/** PATCHes waiting their turn on one session; a client trickles a few at a time, never dozens at once. */
const MAX_PENDING_PATCHES = 8;

export interface ClientAnswer {
  connection: ClientConnection;
  sdp: string;
}

/**
 * The WebRTC connection to a WHIP or WHEP client: we answer its offer (RFC 9725 §4.2), take trickled candidates and
 * ICE restarts by PATCH (§4.3), and keep the entity tag that names the current ICE session.
 */
export class ClientConnection {
  private etagValue = newEtag();
  private remoteCandidates = 0;
  private remoteUfrag: string | undefined;
  private remotePwd: string | undefined;
  private offerSdp: string;
  private queue: Promise<unknown> = Promise.resolve();
  private pending = 0;

  private constructor(
    readonly pc: RTCPeerConnection,
    offerSdp: string,
  ) {
    this.offerSdp = offerSdp;
    [this.remoteUfrag, this.remotePwd] = iceCredentials(offerSdp);
  }

  /**
   * Answers `offerSdp`. `hooks.created` runs before the offer is applied (to hear `ontrack`), `hooks.offered` between
   * the offer and the answer (a WHEP session puts its outgoing tracks on the offered transceivers there). A malformed
   * offer, or one with nothing we can receive or send, throws a 400.
   */
  static async answer(
    offerSdp: string,
    config: RTCPeerConnectionConfig,
    hooks: { created?: (pc: RTCPeerConnection) => void; offered?: (pc: RTCPeerConnection) => void },
  ): Promise<ClientAnswer> {
    checkOfferShape(offerSdp);
    const pc = new RTCPeerConnection(config);
    const connection = new ClientConnection(pc, offerSdp);
    hooks.created?.(pc);
    try {
      try {
        await pc.setRemoteDescription({ type: "offer", sdp: offerSdp });
      } catch (err) {
        throw new WhipError(400, "BAD_SDP", `the offer was refused: ${(err as Error).message}`);
      }
      hooks.offered?.(pc);
      const answer = await pc.createAnswer();
      if (!mediaSections(answer.sdp).some((section) => !/^m=\S+ 0 /.test(section))) {
        throw new WhipError(
          400,
          "NO_COMMON_CODEC",
          "no media section of the offer has a codec we take (video: VP8; audio: Opus or PCMU)",
        );
      }
      await pc.setLocalDescription(answer);
      await connection.gathered();
      return { connection, sdp: pc.localDescription?.sdp ?? "" };
    } catch (err) {
      await pc.close().catch(() => {});
      throw err;
    }
  }

  /** The entity tag of the current ICE session (quoted, as in the ETag header). */
  get etag(): string {
    return this.etagValue;
  }

  /**
   * Applies a PATCH: trickled candidates (returns undefined: 204), or new ICE credentials, an ICE restart (returns our
   * new credentials and candidates as an sdpfrag, with a new entity tag: 200). `ifMatch` is the If-Match header.
   */
  patch(frag: SdpFrag, ifMatch: string | undefined): Promise<string | undefined> {
    if (this.pending >= MAX_PENDING_PATCHES) {
      return Promise.reject(
        new WhipError(429, "TOO_MANY_REQUESTS", `${MAX_PENDING_PATCHES} PATCHes are already waiting on this session`, {
          "retry-after": "1",
        }),
      );
    }
    // One PATCH at a time: a restart must not interleave with candidates for the ICE session it replaces.
    this.pending++;
    const run = this.queue.then(() => this.applyPatch(frag, ifMatch)).finally(() => this.pending--);
    this.queue = run.catch(() => {});
    return run;
  }

  async close(): Promise<void> {
    await this.pc.close().catch(() => {});
  }

  private async applyPatch(frag: SdpFrag, ifMatch: string | undefined): Promise<string | undefined> {
    if (ifMatch !== undefined && ifMatch.trim() !== "*" && ifMatch.trim() !== this.etagValue) {
      throw new WhipError(412, "PRECONDITION_FAILED", `If-Match ${ifMatch} does not name the current ICE session`);
    }
    const restart = frag.ufrag !== undefined && (frag.ufrag !== this.remoteUfrag || frag.pwd !== this.remotePwd);
    if (restart) {
      // RFC 9725 §4.3.2: a restart must say which ICE session it replaces (or "*").
      if (ifMatch === undefined) {
        throw new WhipError(428, "PRECONDITION_REQUIRED", "an ICE restart (new ice-ufrag) needs an If-Match header");
      }
      return this.restartIce(frag);
    }
    await this.addCandidates(frag);
    return undefined;
  }

  private async addCandidates(frag: SdpFrag): Promise<void> {
    if (this.remoteCandidates + frag.candidates.length > MAX_REMOTE_CANDIDATES) {
      throw new WhipError(400, "BAD_SDPFRAG", `more than ${MAX_REMOTE_CANDIDATES} candidates for one session`);
    }
    this.remoteCandidates += frag.candidates.length;
    const firstMid = mids(this.offerSdp)[0];
    for (const { candidate, mid } of frag.candidates) {
      // With BUNDLE every candidate belongs to the first transport, whatever m-section the client put it in.
      await this.pc.addIceCandidate({ candidate, sdpMid: firstMid ?? mid ?? "0", sdpMLineIndex: 0 }).catch(() => {
        // A candidate werift cannot use (an unknown transport, mDNS it cannot resolve) is not the client's error.
      });
    }
    if (frag.endOfCandidates) await this.pc.addIceCandidate(undefined).catch(() => {});
  }

  private async restartIce(frag: SdpFrag): Promise<string> {
    const offer = this.offerSdp
      .replace(/^a=ice-ufrag:.*$/gm, `a=ice-ufrag:${frag.ufrag}`)
      .replace(/^a=ice-pwd:.*$/gm, `a=ice-pwd:${frag.pwd}`)
      .replace(/^a=(candidate:.*|end-of-candidates)\r?\n/gm, "");
    try {
      await this.pc.setRemoteDescription({ type: "offer", sdp: offer });
      await this.pc.setLocalDescription(await this.pc.createAnswer());
      await this.gathered();
    } catch (err) {
      throw new WhipError(500, "ICE_RESTART_FAILED", `the ICE restart failed: ${(err as Error).message}`);
    }
    this.offerSdp = offer;
    this.remoteUfrag = frag.ufrag;
    this.remotePwd = frag.pwd;
    this.remoteCandidates = 0;
    await this.addCandidates(frag);
    this.etagValue = newEtag();
    const answer = this.pc.localDescription?.sdp ?? "";
    const [ufrag, pwd] = iceCredentials(answer);
    return formatSdpFrag({
      ufrag: ufrag ?? "",
      pwd: pwd ?? "",
      mid: mids(answer)[0],
      candidates: [...answer.matchAll(/^a=(candidate:[^\r\n]*)/gm)].map((m) => m[1]!),
    });
  }

  private gathered(): Promise<void> {
    if (this.pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, GATHER_WAIT_MS);
      const sub = this.pc.iceGatheringStateChange.subscribe((state) => {
        if (state === "complete") done();
      });
      function done() {
        clearTimeout(timer);
        sub.unSubscribe();
        resolve();
      }
    });
  }
}

/**
 * Cheap checks before werift sees the text (and before a room is joined for it), so the 400 says what is wrong rather
 * than where werift tripped.
 */
export function checkOfferShape(sdp: string): void {
  if (!sdp.startsWith("v=0")) throw new WhipError(400, "BAD_SDP", "an SDP offer starts with v=0");
  const sections = mediaSections(sdp);
  if (sections.length === 0) throw new WhipError(400, "BAD_SDP", "the offer has no media section (m=)");
  if (sections.length > 16) throw new WhipError(400, "BAD_SDP", "the offer has more than 16 media sections");
  if (!sections.some((s) => /^m=(audio|video) /.test(s))) {
    throw new WhipError(400, "BAD_SDP", "the offer has no audio or video section");
  }
  const [ufrag, pwd] = iceCredentials(sdp);
  if (!ufrag || !pwd) throw new WhipError(400, "BAD_SDP", "the offer has no ice-ufrag/ice-pwd");
  if (!/^a=fingerprint:/m.test(sdp)) throw new WhipError(400, "BAD_SDP", "the offer has no DTLS fingerprint");
}

function mediaSections(sdp: string): string[] {
  return sdp.split(/\r?\n(?=m=)/).filter((s) => s.startsWith("m="));
}

function mids(sdp: string): string[] {
  return [...sdp.matchAll(/^a=mid:(\S+)/gm)].map((m) => m[1]!);
}

function iceCredentials(sdp: string): [string | undefined, string | undefined] {
  return [/^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1], /^a=ice-pwd:(\S+)/m.exec(sdp)?.[1]];
}

const newEtag = () => `"${randomBytes(12).toString("base64url")}"`;
