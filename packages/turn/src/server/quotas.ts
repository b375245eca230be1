/**
 * Allocation slots under coturn's quotas (-q per user, -Q in all) and the `quota` hook. One ledger per TurnServer,
 * in the thread that owns the server: with several relay threads every Allocate asks it, so the quotas hold for the
 * whole server and not per thread. A slot is taken before the relay port is bound and given back when the
 * allocation goes (or its creation fails), so two Allocates racing for the last slot cannot both win.
 */
export class Quotas {
  private readonly perUser = new Map<string, number>();
  /** Slots held per relay thread, so the slots of a thread that died can be given back in one step. */
  private readonly perWorker = new Map<number, Map<string, number>>();
  private held = 0;

  constructor(
    private readonly userQuota: number,
    private readonly totalQuota: number,
    private readonly hook: ((username: string, current: number) => boolean) | undefined,
  ) {}

  /** Slots held now: allocations, and Allocates still binding their relay port. */
  get total(): number {
    return this.held;
  }

  /** Takes a slot for `username` (held by relay thread `worker`), or false when a quota or the hook says no. */
  acquire(username: string, worker = 0): boolean {
    const current = this.perUser.get(username) ?? 0;
    if (this.userQuota > 0 && current >= this.userQuota) return false;
    if (this.totalQuota > 0 && this.held >= this.totalQuota) return false;
    if (this.hook && !this.hook(username, current)) return false;
    this.perUser.set(username, current + 1);
    const mine = this.perWorker.get(worker) ?? new Map<string, number>();
    mine.set(username, (mine.get(username) ?? 0) + 1);
    this.perWorker.set(worker, mine);
    this.held++;
    return true;
  }

  /** Gives back one slot of `username` held by `worker`. */
  release(username: string, worker = 0): void {
    const mine = this.perWorker.get(worker);
    const count = mine?.get(username) ?? 0;
    if (!mine || count === 0) return; // never taken (or already given back): nothing to undo
    if (count === 1) mine.delete(username);
    else mine.set(username, count - 1);
    const n = (this.perUser.get(username) ?? 1) - 1;
    if (n <= 0) this.perUser.delete(username);
    else this.perUser.set(username, n);
    this.held--;
  }

  /** A slot moves with an allocation from one relay thread to another (RFC 8016 mobility). */
  transfer(username: string, from: number, to: number): void {
    if (from === to || !this.perWorker.get(from)?.get(username)) return;
    this.release(username, from);
    // Re-taken without the quota checks: the allocation already existed, the move must not be refused by them.
    this.perUser.set(username, (this.perUser.get(username) ?? 0) + 1);
    const mine = this.perWorker.get(to) ?? new Map<string, number>();
    mine.set(username, (mine.get(username) ?? 0) + 1);
    this.perWorker.set(to, mine);
    this.held++;
  }

  /** Gives back every slot a relay thread held (it exited; its allocations and sockets are gone with it). */
  releaseWorker(worker: number): void {
    for (const [username, count] of this.perWorker.get(worker) ?? []) {
      for (let i = 0; i < count; i++) this.release(username, worker);
    }
    this.perWorker.delete(worker);
  }
}
