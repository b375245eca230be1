import type { IceServer } from "@parley/signal";

/**
 * ICE servers as RFC 9725 §4.6 Link header values (`<turn:host?transport=udp>; rel="ice-server"; username="…";
 * credential="…"; credential-type="password"`), one per URL, joined for a single header.
 */
export function iceServerLinks(servers: readonly IceServer[]): string {
  const links: string[] = [];
  for (const server of servers) {
    const urls = Array.isArray(server.urls) ? server.urls : [server.urls];
    for (const url of urls) {
      let link = `<${url}>; rel="ice-server"`;
      if (server.username !== undefined && server.credential !== undefined) {
        link += `; username=${quoted(server.username)}; credential=${quoted(server.credential)}`;
        link += '; credential-type="password"';
      }
      links.push(link);
    }
  }
  return links.join(", ");
}

/** An RFC 9110 quoted-string: backslash before `"` and `\`. */
const quoted = (text: string) => `"${text.replace(/["\\]/g, "\\$&")}"`;
