export interface Tool {
  name: string;
  debian: string;
  suites: string;
  present: () => boolean;
}
export declare const tools: Tool[];
export declare const paths: { python: string; chromium: string };
export declare function missingTools(): string[];
export declare function installMissingTools(log?: (line: string) => void): string[];
