import { createSocket, type Socket } from "node:dgram";
import { MediaStreamTrack, RtpPacket } from "@parley/werift";
import { PeerError } from "../errors.js";

export interface RtpInputOptions {
  kind: "audio" | "video";
  /** UDP port to listen on (0: any free port). */
  port?: number;
  /** Address to bind. Default 127.0.0.1: RTP from another host would be an open relay into the call. */
  host?: string;
}

/** Largest datagram accepted: an RTP packet over an Ethernet MTU. Bigger ones are dropped, not fragmented on. */
const MAX_RTP_BYTES = 1500;

/**
 * RTP arriving on a local UDP port, as a track to send into a call: `ffmpeg -re -i in.webm -an -c:v libvpx
 * -f rtp rtp://127.0.0.1:PORT` (or GStreamer) feeds a bot. werift's sender rewrites SSRC and payload type to what
 * was negotiated, so the producer's values do not matter; its codec must match the negotiated one.
 */
export class RtpInput {
  readonly track: MediaStreamTrack;
  /** Packets forwarded, and datagrams dropped as not RTP or too large. */
  packets = 0;
  dropped = 0;
  private readonly socket: Socket;
  private boundPort = 0;

  private constructor(kind: "audio" | "video") {
    this.track = new MediaStreamTrack({ kind });
    this.socket = createSocket("udp4");
    this.socket.on("message", (data) => this.onDatagram(data));
    this.socket.on("error", () => {});
  }

  static async open(options: RtpInputOptions): Promise<RtpInput> {
    const input = new RtpInput(options.kind);
    await new Promise<void>((resolve, reject) => {
      input.socket.once("error", (err) =>
        reject(
          new PeerError(
            "INVALID_ARGUMENT",
            `cannot listen for RTP on ${options.host ?? "127.0.0.1"}:${options.port ?? 0}: ${err.message}`,
          ),
        ),
      );
      input.socket.bind(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
    });
    input.boundPort = input.socket.address().port;
    return input;
  }

  get port(): number {
    return this.boundPort;
  }

  close(): void {
    try {
      this.socket.close();
    } catch {
      // already closed
    }
    this.track.stop();
  }

  private onDatagram(data: Buffer): void {
    // RTP version 2, at least a 12-byte header; RTCP (payload types 200-204 in the second byte) is not media.
    if (
      data.length < 12 ||
      data.length > MAX_RTP_BYTES ||
      data[0]! >> 6 !== 2 ||
      (data[1]! >= 200 && data[1]! <= 204)
    ) {
      this.dropped++;
      return;
    }
    let packet: RtpPacket;
    try {
      packet = RtpPacket.deSerialize(data);
    } catch {
      this.dropped++;
      return;
    }
    this.packets++;
    this.track.writeRtp(packet);
  }
}
