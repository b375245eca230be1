import { HEADER_LENGTH, MAX_MESSAGE_LENGTH } from "../stun/constants.js";

/**
 * Splits a TCP/TLS byte stream into STUN messages and ChannelData frames (RFC 8656 §12.5: ChannelData is padded to
 * 4 bytes on streams). Holds at most one partial frame, so a connection's buffer is bounded by the largest frame.
 * A byte that starts neither kind of frame means the stream is not TURN: the caller closes the connection.
 */
export class StreamFramer {
  private pending: Buffer = Buffer.alloc(0);

  /**
   * Appends `chunk` and calls `onFrame` for every whole frame; returns false on a framing error. When `onFrame`
   * returns "stop" the rest stays buffered unparsed (RFC 6062: after ConnectionBind the stream is raw peer data).
   */
  push(chunk: Buffer, onFrame: (frame: Buffer) => undefined | "stop"): boolean {
    let buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      if (buf.length < 4) break;
      const kind = buf[0]! & 0xc0;
      let size: number;
      if (kind === 0x00) size = HEADER_LENGTH + buf.readUInt16BE(2);
      else if (kind === 0x40) size = 4 + ((buf.readUInt16BE(2) + 3) & ~3);
      else return false;
      if (size > MAX_MESSAGE_LENGTH + 4) return false;
      if (buf.length < size) break;
      // ChannelData's own length excludes the stream padding; hand over the unpadded frame.
      const stop = onFrame(kind === 0x40 ? buf.subarray(0, 4 + buf.readUInt16BE(2)) : buf.subarray(0, size));
      buf = buf.subarray(size);
      if (stop === "stop") break;
    }
    // Copy the remainder so the (possibly large) chunk it points into can be freed.
    this.pending = buf.length === 0 ? Buffer.alloc(0) : Buffer.from(buf);
    return true;
  }

  /** Returns and forgets the buffered bytes. */
  drain(): Buffer {
    const rest = this.pending;
    this.pending = Buffer.alloc(0);
    return rest;
  }

  get bufferedBytes(): number {
    return this.pending.length;
  }
}
