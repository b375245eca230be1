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
  log?: (line: string) => void;
}): Promise<Demo>;
