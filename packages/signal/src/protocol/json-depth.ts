/** How deep a client frame's JSON may nest. Signalling payloads (SDP, candidates) nest three or four levels. */
export const MAX_JSON_DEPTH = 32;

/**
 * Whether `text` nests arrays and objects deeper than `max`, found by one scan that skips string contents. Checked
 * before JSON.parse, so a small frame of 5,000 brackets costs a scan, not a deep structure for every later step.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  // Fast path, most frames: nesting past `max` needs more than `max` opening brackets, and counting them (indexOf
  // runs natively) is much cheaper than the scan below. Brackets inside strings only make this count higher.
  let opening = 0;
  for (let i = text.indexOf("{"); i !== -1 && opening <= max; i = text.indexOf("{", i + 1)) opening++;
  for (let i = text.indexOf("["); i !== -1 && opening <= max; i = text.indexOf("[", i + 1)) opening++;
  if (opening <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
