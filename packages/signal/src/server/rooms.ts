import type { Member } from "../protocol/messages.js";

/**
 * Where room membership lives. Async, so a shared store (Redis) can spread rooms over several server processes
 * without a protocol change; the server keeps only its own sockets and routes by member id.
 */
export interface RoomStore {
  /** Adds `member` unless the room has `capacity` members already; resolves with the members before the join. */
  join(room: string, member: Member, capacity: number): Promise<{ ok: true; members: Member[] } | { ok: false }>;
  leave(room: string, memberId: string): Promise<void>;
  members(room: string): Promise<Member[]>;
  has(room: string, memberId: string): Promise<boolean>;
}

/** The default store: one process, in memory. Empty rooms are deleted, so the map is bounded by live members. */
export class MemoryRoomStore implements RoomStore {
  private readonly rooms = new Map<string, Map<string, Member>>();

  async join(room: string, member: Member, capacity: number): Promise<{ ok: true; members: Member[] } | { ok: false }> {
    let members = this.rooms.get(room);
    if (!members) {
      members = new Map();
      this.rooms.set(room, members);
    }
    if (!members.has(member.id) && members.size >= capacity) return { ok: false };
    const before = [...members.values()].filter((m) => m.id !== member.id);
    members.set(member.id, member);
    return { ok: true, members: before };
  }

  async leave(room: string, memberId: string): Promise<void> {
    const members = this.rooms.get(room);
    if (!members) return;
    members.delete(memberId);
    if (members.size === 0) this.rooms.delete(room);
  }

  async members(room: string): Promise<Member[]> {
    return [...(this.rooms.get(room)?.values() ?? [])];
  }

  async has(room: string, memberId: string): Promise<boolean> {
    return this.rooms.get(room)?.has(memberId) ?? false;
  }

  /** Number of non-empty rooms (for tests and metrics). */
  get size(): number {
    return this.rooms.size;
  }
}
