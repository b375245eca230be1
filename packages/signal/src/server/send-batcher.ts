import type { WebSocket } from "ws";

/**
 * Coalesces the frames a socket is sent within one event-loop turn into one write. Relaying is dominated by write
 * syscalls (one per `ws.send`); a member receiving candidates from several peers gets them in one corked burst
 * instead. Frames are flushed in order at the end of the turn (setImmediate), so latency grows by less than a turn.
 * Every frame for a socket must go through here, or ordering breaks; `closeAfterFlush` keeps "error, then close".
 */
export class SendBatcher {
  private readonly queued = new Map<WebSocket, string[]>();
  private scheduled = false;

  send(socket: WebSocket, text: string): void {
    if (socket.readyState !== socket.OPEN) return;
    const frames = this.queued.get(socket);
    if (frames) frames.push(text);
    else this.queued.set(socket, [text]);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    for (const [socket, frames] of this.queued) this.write(socket, frames);
    this.queued.clear();
  }

  /** Sends what is queued for `socket`, then closes it. */
  closeAfterFlush(socket: WebSocket, code: number, reason: string): void {
    const frames = this.queued.get(socket);
    if (frames) {
      this.queued.delete(socket);
      this.write(socket, frames);
    }
    socket.close(code, reason);
  }

  private write(socket: WebSocket, frames: string[]): void {
    if (socket.readyState !== socket.OPEN) return;
    // ws corks per frame; an outer cork on its net.Socket merges the whole burst into one writev.
    const raw = (socket as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
    raw?.cork();
    for (const text of frames) socket.send(text);
    raw?.uncork();
  }
}
