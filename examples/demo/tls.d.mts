export interface DemoTls {
  cert: string;
  key: string;
  selfSigned: boolean;
  /** SHA-256 fingerprint, for a self-signed pair. */
  fingerprint?: string;
}
export function demoTls(env: NodeJS.ProcessEnv, host: string): Promise<DemoTls | undefined>;
export function selfSigned(host: string): Promise<{ cert: string; key: string; fingerprint: string }>;
