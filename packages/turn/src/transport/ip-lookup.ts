/**
 * dgram.send() resolves its address through `lookup` on every call; the default is dns.lookup, which defers to the
 * next tick even for an IP literal. A relay only ever sends to IP literals, so this answers synchronously — one of
 * the larger per-packet costs on the relay path otherwise.
 */
export function ipLiteralLookup(
  hostname: string,
  _options: unknown,
  callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void,
): void {
  // A colon can only appear in an IPv6 literal; this avoids isIPv6's large regular expression per packet.
  callback(null, hostname, hostname.includes(":") ? 6 : 4);
}
