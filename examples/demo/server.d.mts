export interface Demo {
  url: string;
  port: number;
  turnPort: number;
  recordings: string;
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
