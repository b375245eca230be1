import { WhipError } from "./whip-error.js";

/** What a WHIP/WHEP client PATCHes (RFC 8840 `application/trickle-ice-sdpfrag`), reduced to what ICE needs. */
export interface SdpFrag {
  /** ICE credentials, when the fragment carries them (session or media level): new ones ask for an ICE restart. */
  ufrag?: string;
  pwd?: string;
  /** `a=candidate:` values (without the `a=`), each with the mid of the m-section it came in, if any. */
  candidates: Array<{ candidate: string; mid?: string }>;
  endOfCandidates: boolean;
}

/** A client trickles a handful of candidates per PATCH; more than this is not ICE. */
export const MAX_FRAG_CANDIDATES = 64;
const MAX_LINE = 1024;
// ICE credentials (RFC 8839 §5.4): ice-char = ALPHA / DIGIT / "+" / "/"; ufrag 4–256, pwd 22–256.
const ICE_CHARS = /^[A-Za-z0-9+/]+$/;

/** Parses a trickle-ice-sdpfrag body; a malformed one throws WhipError 400 naming the line. */
export function parseSdpFrag(body: string): SdpFrag {
  const frag: SdpFrag = { candidates: [], endOfCandidates: false };
  let mid: string | undefined;
  const lines = body.split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    if (line === "") continue;
    const where = `line ${index + 1}`;
    if (line.length > MAX_LINE) throw new WhipError(400, "BAD_SDPFRAG", `${where} is over ${MAX_LINE} characters`);
    if (!/^[a-z]=/.test(line)) throw new WhipError(400, "BAD_SDPFRAG", `${where} is not an SDP line: "${clip(line)}"`);
    if (line.startsWith("m=")) {
      mid = undefined;
      continue;
    }
    if (!line.startsWith("a=")) continue; // c=, o=, s= and the like carry nothing for ICE
    const [name, value = ""] = splitAttribute(line.slice(2));
    if (name === "mid") mid = value;
    else if (name === "ice-ufrag") frag.ufrag = iceCredential(value, 4, `${where}: ice-ufrag`);
    else if (name === "ice-pwd") frag.pwd = iceCredential(value, 22, `${where}: ice-pwd`);
    else if (name === "end-of-candidates") frag.endOfCandidates = true;
    else if (name === "candidate") {
      if (!/^\S+ \d+ \S+ \d+ \S+ \d+ typ \S+/.test(value)) {
        throw new WhipError(400, "BAD_SDPFRAG", `${where} is not an ICE candidate: "${clip(line)}"`);
      }
      if (frag.candidates.length === MAX_FRAG_CANDIDATES) {
        throw new WhipError(400, "BAD_SDPFRAG", `more than ${MAX_FRAG_CANDIDATES} candidates in one fragment`);
      }
      frag.candidates.push({ candidate: `candidate:${value}`, ...(mid !== undefined ? { mid } : {}) });
    }
  }
  if ((frag.ufrag === undefined) !== (frag.pwd === undefined)) {
    throw new WhipError(400, "BAD_SDPFRAG", "a fragment with ICE credentials needs both ice-ufrag and ice-pwd");
  }
  return frag;
}

/** The answer to an ICE restart: our new credentials and candidates, in the client's first m-section. */
export function formatSdpFrag(frag: {
  ufrag: string;
  pwd: string;
  mid: string | undefined;
  candidates: string[];
}): string {
  const lines = [`a=ice-ufrag:${frag.ufrag}`, `a=ice-pwd:${frag.pwd}`, "m=audio 9 RTP/AVP 0"];
  if (frag.mid !== undefined) lines.push(`a=mid:${frag.mid}`);
  for (const candidate of frag.candidates) lines.push(`a=${candidate}`);
  lines.push("a=end-of-candidates");
  return `${lines.join("\r\n")}\r\n`;
}

function splitAttribute(attribute: string): [string, string | undefined] {
  const colon = attribute.indexOf(":");
  return colon < 0 ? [attribute, undefined] : [attribute.slice(0, colon), attribute.slice(colon + 1)];
}

function iceCredential(value: string, min: number, where: string): string {
  if (value.length < min || value.length > 256 || !ICE_CHARS.test(value)) {
    throw new WhipError(400, "BAD_SDPFRAG", `${where} must be ${min}–256 ice-chars, got "${clip(value)}"`);
  }
  return value;
}

const clip = (text: string) => (text.length > 60 ? `${text.slice(0, 60)}…` : text);
