import { parseTurnUrl, TurnClient } from "@parley/turn";
import type { RTCIceServer } from "@parley/werift";

/**
 * Which of these TURN servers (one URL each, as in icePlans) answer an Allocate now. werift can use one TURN URL per connection, so Parley tries them as plans
 * in turn (see icePlans); a dead first URL used to cost each connection a failed gathering (werift's allocation
 * timeout, ~6 s), an ICE restart, and — since the two ends of a connection failed over at different moments —
 * several more rounds: 36–44 s to connect in the fallback test. Asking each server once, in parallel, before the
 * first connection lets every member start on a plan that works.
 *
 * Each allocation is deleted at once (Refresh, lifetime 0), so a probe holds none of the user's quota. A URL that
 * does not answer within `timeoutMs`, refuses the credentials, or is not a URL our client speaks is "not reachable";
 * that only moves its plan later, never removes it. `signal` aborts every probe (the peer is closing).
 */
export async function reachableTurnUrls(
  turns: readonly RTCIceServer[],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Set<string>> {
  const reachable = new Set<string>();
  await Promise.all(
    turns.map(async (server) => {
      const url = String(server.urls);
      if (await answersAllocate(url, server.username ?? "", String(server.credential ?? ""), timeoutMs, signal)) {
        reachable.add(url);
      }
    }),
  );
  return reachable;
}

async function answersAllocate(
  url: string,
  username: string,
  password: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<boolean> {
  if (signal?.aborted) return false;
  let client: TurnClient | undefined;
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  const stop = () => client?.close();
  signal?.addEventListener("abort", stop, { once: true });
  const attempt = (async () => {
    client = await TurnClient.connect({ ...parseTurnUrl(url), username, password, timeoutMs });
    if (done) return false; // gave up meanwhile: the finally below has run, close here
    await client.allocate();
    await client.refresh(0).catch(() => {}); // delete it; the answer to Allocate is what we wanted
    return true;
  })().catch(() => false);
  try {
    const expired = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    return await Promise.race([attempt, expired]);
  } finally {
    done = true;
    clearTimeout(timer);
    signal?.removeEventListener("abort", stop);
    stop();
    // A connect still in progress (a TLS or TCP server that does not answer) is closed when it settles.
    void attempt.then(stop);
  }
}
