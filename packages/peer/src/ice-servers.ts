import type { RTCIceServer } from "@parley/werift";
import { PeerError } from "./errors.js";

/** An ICE server as the signal server's welcome (and browsers' RTCConfiguration) describe it. */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

const ICE_URL = /^(stuns?|turns?):(\[[0-9a-fA-F:.]+\]|[^:?/\s[\]]+)(?::(\d{1,5}))?(?:\?transport=(udp|tcp))?$/;

/**
 * Turns configured ICE servers into werift's form. werift fills in a public Google STUN server when given none;
 * a bot must never contact a server its operator did not name, so an empty list stays empty. Each URL is validated
 * here so a typo fails at start-up with the offending URL, not minutes later as a silent ICE failure.
 */
export function toWeriftIceServers(servers: readonly IceServer[]): RTCIceServer[] {
  const out: RTCIceServer[] = [];
  for (const server of servers) {
    const urls = Array.isArray(server.urls) ? server.urls : [server.urls];
    for (const url of urls) {
      const match = ICE_URL.exec(url);
      if (!match) throw new PeerError("INVALID_ICE_SERVER", `"${url}" is not a stun:, stuns:, turn: or turns: URL`);
      const port = match[3] === undefined ? undefined : Number(match[3]);
      if (port !== undefined && (port < 1 || port > 65535)) {
        throw new PeerError("INVALID_ICE_SERVER", `"${url}" has port ${port}, expected 1-65535`);
      }
      const isTurn = match[1]!.startsWith("turn");
      if (isTurn && (server.username === undefined || server.credential === undefined)) {
        throw new PeerError("INVALID_ICE_SERVER", `"${url}" is a TURN server but has no username and credential`);
      }
      out.push(isTurn ? { urls: url, username: server.username, credential: server.credential } : { urls: url });
    }
  }
  return out;
}

const isTurn = (server: RTCIceServer) => String(server.urls).startsWith("turn");

/**
 * werift uses only the first STUN and the first TURN URL it is given. To honour every configured TURN URL (say UDP,
 * then TLS for networks that block UDP), the list is split into plans — each with the first STUN URL and one TURN
 * URL, in the configured order — and a member's connection moves to the next plan when ICE fails on the current one.
 */
export function icePlans(servers: readonly IceServer[]): RTCIceServer[][] {
  const all = toWeriftIceServers(servers);
  const turn = all.filter(isTurn);
  const firstStun = all.filter((s) => !isTurn(s)).slice(0, 1);
  if (turn.length === 0) return [firstStun];
  return turn.map((t) => [...firstStun, t]);
}

/** The TURN server a plan (from icePlans) uses, if any: each plan has at most one, with a single URL. */
export function planTurn(plan: readonly RTCIceServer[]): RTCIceServer | undefined {
  return plan.find(isTurn);
}

/** Plans whose TURN URL answered the preflight first, each group in the configured order. */
export function rankPlans(plans: RTCIceServer[][], reachable: ReadonlySet<string> | undefined): RTCIceServer[][] {
  if (!reachable) return plans;
  const works = (plan: RTCIceServer[]) => reachable.has(String(planTurn(plan)?.urls));
  return [...plans.filter(works), ...plans.filter((p) => !works(p))];
}
