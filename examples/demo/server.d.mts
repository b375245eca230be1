export interface Demo {
  url: string;
  port: number;
  turnPort: number;
  recordings: string;
  /** POST an SDP offer here to publish into the demo room (WHIP, RFC 9725). */
  whipUrl: string;
  /** POST an SDP offer here to watch the first member sending media (WHEP); append /{member} for one member. */
  whepUrl: string;
  close(): Promise<void>;
}
export function startDemo(options?: {
  port?: number;
  host?: string;
  turnPort?: number;
  recordings?: string;
  room?: string;
  /** Serve the page over https and signalling over wss with this PEM pair. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  log?: (line: string) => void;
}): Promise<Demo>;
