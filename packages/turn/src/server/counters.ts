/** What a TurnServer counts: per relay thread, and summed for the server. */
export interface TurnServerCounters {
  packetsIn: number;
  /** Datagrams/frames that were not STUN/ChannelData, failed to decode, or failed FINGERPRINT. */
  dropped: number;
  bindingRequests: number;
  errorResponses: number;
  allocations: number;
  relayedToPeer: number;
  relayedToClient: number;
  /** Packets dropped for lack of a permission, a bound channel, or bandwidth. */
  relayDropped: number;
  /** Payload bytes relayed to peers and to clients. */
  bytesToPeer: number;
  bytesToClient: number;
  rateLimited: number;
  /** TCP/TLS connections closed because they set nothing up in time (streamSetupTimeoutMs). */
  streamsTimedOut: number;
}

/** A fresh set of counts, all zero. */
export function emptyCounters(): TurnServerCounters {
  return {
    packetsIn: 0,
    dropped: 0,
    bindingRequests: 0,
    errorResponses: 0,
    allocations: 0,
    relayedToPeer: 0,
    relayedToClient: 0,
    relayDropped: 0,
    bytesToPeer: 0,
    bytesToClient: 0,
    rateLimited: 0,
    streamsTimedOut: 0,
  };
}

/** The counts of several relay threads added up (one thread's counts as they are). */
export function sumCounters(list: TurnServerCounters[]): TurnServerCounters {
  if (list.length === 1) return list[0]!;
  const total = emptyCounters();
  for (const counters of list) {
    for (const key of Object.keys(total) as Array<keyof TurnServerCounters>) total[key] += counters[key];
  }
  return total;
}
