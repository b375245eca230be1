import type { RTCPeerConnection } from "@parley/werift";

export interface MemberStats {
  bytesSent: number;
  bytesReceived: number;
  packetsReceived: number;
  packetsLost: number;
  /** Round-trip time of the selected candidate pair, seconds (undefined until measured). */
  roundTripTime: number | undefined;
  /** Inbound RTP jitter, seconds, the worst over our inbound streams. */
  jitter: number | undefined;
  /** Type of the selected local candidate: "host", "srflx", "prflx" or "relay". */
  localCandidateType: string | undefined;
  remoteCandidateType: string | undefined;
  /** Per-kind inbound packet counts (audio, video). */
  inbound: Record<string, { packetsReceived: number; bytesReceived: number; framesDecoded?: number }>;
}

type Stat = Record<string, unknown> & { type: string; id: string };

/** A short summary of werift's getStats() for one member: what operators ask first. */
export async function memberStats(pc: RTCPeerConnection): Promise<MemberStats> {
  const report = (await pc.getStats()) as unknown as Map<string, Stat>;
  const all = [...report.values()];
  const pair =
    all.find((s) => s.type === "candidate-pair" && (s.nominated || s.selected) && s.state === "succeeded") ??
    all.find((s) => s.type === "candidate-pair" && s.state === "succeeded");
  const candidate = (id: unknown) => (typeof id === "string" ? report.get(id) : undefined);
  const out: MemberStats = {
    bytesSent: 0,
    bytesReceived: 0,
    packetsReceived: 0,
    packetsLost: 0,
    roundTripTime: typeof pair?.currentRoundTripTime === "number" ? pair.currentRoundTripTime : undefined,
    jitter: undefined,
    localCandidateType: candidate(pair?.localCandidateId)?.candidateType as string | undefined,
    remoteCandidateType: candidate(pair?.remoteCandidateId)?.candidateType as string | undefined,
    inbound: {},
  };
  for (const s of all) {
    if (s.type === "transport") {
      out.bytesSent += Number(s.bytesSent ?? 0);
      out.bytesReceived += Number(s.bytesReceived ?? 0);
    }
    if (s.type === "inbound-rtp") {
      const kind = String(s.kind ?? "unknown");
      const entry = out.inbound[kind] ?? { packetsReceived: 0, bytesReceived: 0 };
      out.inbound[kind] = entry;
      entry.packetsReceived += Number(s.packetsReceived ?? 0);
      entry.bytesReceived += Number(s.bytesReceived ?? 0);
      out.packetsReceived += Number(s.packetsReceived ?? 0);
      out.packetsLost += Number(s.packetsLost ?? 0);
      if (typeof s.jitter === "number") out.jitter = Math.max(out.jitter ?? 0, s.jitter);
    }
  }
  return out;
}
