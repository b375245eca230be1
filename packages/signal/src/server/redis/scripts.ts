/**
 * The Lua scripts behind the Redis cluster mode. Every change to shared state is one script, so Redis runs it alone:
 * a join and the member-joined it fans out, or a signal and the seq it takes, can never interleave with another
 * node's. That is what keeps "one order per room" and "exactly once, in order" across nodes (README, "Running
 * several nodes").
 *
 * Keys (P is the prefix, "parley:" by default):
 *   P s:ID    hash   a session: g grant JSON, i identity, x grant expiry (ms, "" none), t resume-token hash,
 *                    tp the hash the last resume was made with (until confirmed), q last seq, n node holding it
 *                    ("" detached), c epoch of the connection holding it
 *   P sr:ID   hash   the session's rooms (room → 1)
 *   P o:ID    stream the session's outbox, entry id 0-SEQ, field m = the message text
 *   P a:ID    hash   answers to its recent requests by request id (retries after a resume); P al:ID their order
 *   P r:ROOM  hash   members of a room (member id → member JSON);  P rooms  set of non-empty rooms
 *   P n:NODE  stream what a node must send: s session, q seq, m text; or s session, k control kind, c epoch
 *   P ns:NODE set    sessions a node holds;  P nodes  zset node → last heartbeat (ms);  P exp  zset session → deadline
 *
 * Every script takes ARGV[1..3] = prefix, outbox messages, node stream length; its own from ARGV[4].
 * Keys are built inside the scripts, so this needs one Redis primary (not Redis Cluster's sharding).
 */

const PRELUDE = `
local P, MAXMSG, NODEMAX = ARGV[1], ARGV[2], ARGV[3]
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function str(s) return cjson.encode(s) end

-- Numbers the message for session sid, keeps it in the outbox (bounded, oldest out first) and hands it to the node
-- holding the session, if any. body is a JSON object without seq.
local function deliver(sid, body)
  local skey = P .. 's:' .. sid
  local node = redis.call('HGET', skey, 'n')
  if not node then return end -- ended meanwhile
  local q = redis.call('HINCRBY', skey, 'q', 1)
  local text = string.sub(body, 1, -2) .. ',"seq":' .. q .. '}'
  -- The outbox keeps the newest MAXMSG messages; whether the bound cost a resume anything is seen at resume (its
  -- first entry is past the client's lastSeq + 1).
  redis.call('XADD', P .. 'o:' .. sid, 'MAXLEN', MAXMSG, '0-' .. q, 'm', text)
  -- A node that stopped detached its sessions (n = ''), a dead one's are detached by the sweep that deletes its stream.
  if node ~= '' then
    redis.call('XADD', P .. 'n:' .. node, 'MAXLEN', '~', NODEMAX, '*', 's', sid, 'q', q, 'm', text)
  end
end

-- Whether connection epoch still holds session sid: false if so, else why not: "!gone" (ended), "!moved" (resumed on
-- another connection), "!detached" (its node was taken for dead; the client must resume to get its messages again).
local function guard(sid, epoch)
  local h = redis.call('HMGET', P .. 's:' .. sid, 'c', 'n')
  if not h[1] then return '!gone' end
  if h[1] ~= epoch then return '!moved' end
  if h[2] == '' then return '!detached' end
  return false
end

local function cached(sid, rid)
  if rid == '' then return false end
  return redis.call('HGET', P .. 'a:' .. sid, rid)
end

-- Keeps the answer to request rid (256 per session, as on one node) and returns it.
local function remember(sid, rid, text)
  if rid == '' then return text end
  local akey, lkey = P .. 'a:' .. sid, P .. 'al:' .. sid
  redis.call('HSET', akey, rid, text)
  if redis.call('RPUSH', lkey, rid) > 256 then redis.call('HDEL', akey, redis.call('LPOP', lkey)) end
  return text
end

local function re(rid)
  if rid == '' then return '' end
  return '"re":' .. str(rid) .. ','
end

local function fail(sid, rid, code, message)
  return remember(sid, rid, '{"type":"error",' .. re(rid) .. '"code":"' .. code .. '","message":' .. str(message) .. '}')
end

local function ack(sid, rid)
  if rid == '' then return '' end
  return remember(sid, rid, '{"type":"ack","re":' .. str(rid) .. '}')
end

-- Tells a live node to close the connection (epoch) holding sid; a node gone from the heartbeat set has none.
local function notify(node, sid, kind, epoch)
  if not redis.call('ZSCORE', P .. 'nodes', node) then return end
  redis.call('XADD', P .. 'n:' .. node, 'MAXLEN', '~', NODEMAX, '*', 's', sid, 'k', kind, 'c', epoch)
end

local function leave_room(sid, room)
  local rkey = P .. 'r:' .. room
  redis.call('HDEL', rkey, sid)
  redis.call('HDEL', P .. 'sr:' .. sid, room)
  local ids = redis.call('HKEYS', rkey)
  if #ids == 0 then redis.call('SREM', P .. 'rooms', room) end
  local body = '{"type":"member-left","room":' .. str(room) .. ',"memberId":"' .. sid .. '"}'
  for _, id in ipairs(ids) do deliver(id, body) end
end

-- Ends a session for good: its rooms hear member-left, its node is told (kind) if it holds it.
local function end_session(sid, kind)
  local skey = P .. 's:' .. sid
  local h = redis.call('HMGET', skey, 'n', 'c')
  if not h[2] then return 0 end
  for _, room in ipairs(redis.call('HKEYS', P .. 'sr:' .. sid)) do leave_room(sid, room) end
  if h[1] ~= '' then
    notify(h[1], sid, kind, h[2])
    redis.call('SREM', P .. 'ns:' .. h[1], sid)
  end
  redis.call('DEL', skey, P .. 'sr:' .. sid, P .. 'o:' .. sid, P .. 'a:' .. sid, P .. 'al:' .. sid)
  redis.call('ZREM', P .. 'exp', sid)
  return 1
end
`;

/** ARGV: sid, epoch, node, grant JSON, identity, expiry, token hash. */
const CREATE = `
local sid, epoch, node = ARGV[4], ARGV[5], ARGV[6]
redis.call('HSET', P .. 's:' .. sid, 'g', ARGV[7], 'i', ARGV[8], 'x', ARGV[9], 't', ARGV[10],
  'q', 0, 'n', node, 'c', epoch)
redis.call('SADD', P .. 'ns:' .. node, sid)
redis.call('ZADD', P .. 'nodes', 'NX', now_ms(), node)
return 1
`;

/**
 * ARGV: sid, token hash, lastSeq, node, epoch, new token hash, new grant JSON ("" none), its identity, its expiry.
 * Returns {"ok", seq, grant JSON, rooms, texts after lastSeq} or {problem, detail number}.
 */
const RESUME = `
local sid, token, last, node, epoch = ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[8]
local skey = P .. 's:' .. sid
local h = redis.call('HMGET', skey, 't', 'q', 'n', 'c', 'i', 'x', 'tp')
-- tp: the token the last resume was made with, valid until the client confirms it got the new one (a lost welcome).
if not h[1] or (h[1] ~= token and h[7] ~= token) then return {'unknown', 0} end
local q = tonumber(h[2])
if last > q then return {'ahead', q} end
-- Messages leave the outbox from the front (acknowledged, or pushed out by the bound): it holds first..q.
local first = redis.call('XRANGE', P .. 'o:' .. sid, '-', '+', 'COUNT', 1)[1]
local held = first and tonumber(string.sub(first[1], 3)) or q + 1
if last + 1 < held then
  end_session(sid, 'end')
  return {'lost', held - 1}
end
if ARGV[10] ~= '' then
  if ARGV[11] ~= h[5] then return {'identity', 0} end
  redis.call('HSET', skey, 'g', ARGV[10], 'i', ARGV[11], 'x', ARGV[12])
elseif h[6] ~= '' and tonumber(h[6]) <= now_ms() then
  return {'expired', 0}
end
if h[3] ~= '' then
  notify(h[3], sid, 'moved', h[4])
  redis.call('SREM', P .. 'ns:' .. h[3], sid)
end
redis.call('HSET', skey, 'n', node, 'c', epoch, 't', ARGV[9], 'tp', token)
redis.call('ZREM', P .. 'exp', sid)
redis.call('SADD', P .. 'ns:' .. node, sid)
redis.call('ZADD', P .. 'nodes', 'NX', now_ms(), node)
local texts = {}
for _, e in ipairs(redis.call('XRANGE', P .. 'o:' .. sid, '0-' .. (last + 1), '+')) do texts[#texts + 1] = e[2][2] end
return {'ok', q, redis.call('HGET', skey, 'g'), redis.call('HKEYS', P .. 'sr:' .. sid), texts}
`;

/** ARGV: sid, epoch. The client's first frame after its welcome: it holds the new resume token; the old one dies. */
const CONFIRM = `
if guard(ARGV[4], ARGV[5]) then return 0 end
redis.call('HDEL', P .. 's:' .. ARGV[4], 'tp')
return 1
`;

/** ARGV: sid, epoch, node, resume window ms. The connection closed: the session waits for a resume. */
const DETACH = `
local sid, epoch, node = ARGV[4], ARGV[5], ARGV[6]
local skey = P .. 's:' .. sid
local h = redis.call('HMGET', skey, 'n', 'c')
if h[1] ~= node or h[2] ~= epoch then return 0 end
redis.call('HSET', skey, 'n', '')
redis.call('SREM', P .. 'ns:' .. node, sid)
redis.call('ZADD', P .. 'exp', now_ms() + tonumber(ARGV[7]), sid)
return 1
`;

/** ARGV: sid, epoch ("" any), kind. Ends the session (clean close, kick). */
const END = `
local sid, epoch = ARGV[4], ARGV[5]
if epoch ~= '' and redis.call('HGET', P .. 's:' .. sid, 'c') ~= epoch then return 0 end
return end_session(sid, ARGV[6])
`;

/** ARGV: sid, epoch, request id, room, to, body. */
const SIGNAL = `
local sid, epoch, rid, room, to = ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local g = guard(sid, epoch) if g then return g end
local c = cached(sid, rid) if c then return c end
local rkey = P .. 'r:' .. room
if redis.call('HEXISTS', rkey, sid) == 0 then return fail(sid, rid, 'NOT_IN_ROOM', 'not in room ' .. str(room)) end
if redis.call('HEXISTS', rkey, to) == 0 then
  return fail(sid, rid, 'UNKNOWN_MEMBER', 'no member ' .. str(to) .. ' in room ' .. str(room))
end
deliver(to, ARGV[9])
return ack(sid, rid)
`;

/** ARGV: sid, epoch, request id, room, body. */
const BROADCAST = `
local sid, epoch, rid, room = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local g = guard(sid, epoch) if g then return g end
local c = cached(sid, rid) if c then return c end
local rkey = P .. 'r:' .. room
if redis.call('HEXISTS', rkey, sid) == 0 then return fail(sid, rid, 'NOT_IN_ROOM', 'not in room ' .. str(room)) end
for _, id in ipairs(redis.call('HKEYS', rkey)) do
  if id ~= sid then deliver(id, ARGV[8]) end
end
return ack(sid, rid)
`;

/** ARGV: sid, epoch, request id, room, member JSON, capacity, rooms per session. */
const JOIN = `
local sid, epoch, rid, room, member = ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local g = guard(sid, epoch) if g then return g end
local c = cached(sid, rid) if c then return c end
local rkey, srkey = P .. 'r:' .. room, P .. 'sr:' .. sid
local old = redis.call('HGET', rkey, sid)
if not old then
  local mine, limit = redis.call('HLEN', srkey), tonumber(ARGV[10])
  if mine >= limit then
    return fail(sid, rid, 'TOO_MANY_ROOMS', 'already in ' .. mine .. ' rooms (limit ' .. limit .. ')')
  end
  local capacity = tonumber(ARGV[9])
  if redis.call('HLEN', rkey) >= capacity then
    return fail(sid, rid, 'ROOM_FULL', 'room ' .. str(room) .. ' has ' .. capacity .. ' members already')
  end
end
local ids, members = {}, {}
local all = redis.call('HGETALL', rkey)
for i = 1, #all, 2 do
  if all[i] ~= sid then
    ids[#ids + 1] = all[i]
    members[#members + 1] = all[i + 1]
  end
end
redis.call('HSET', rkey, sid, member)
redis.call('HSET', srkey, room, 1)
redis.call('SADD', P .. 'rooms', room)
if old ~= member then
  local kind = old and 'member-updated' or 'member-joined'
  local body = '{"type":"' .. kind .. '","room":' .. str(room) .. ',"member":' .. member .. '}'
  for _, id in ipairs(ids) do deliver(id, body) end
end
return remember(sid, rid, '{"type":"joined",' .. re(rid) .. '"room":' .. str(room) .. ',"self":"' .. sid ..
  '","members":[' .. table.concat(members, ',') .. ']}')
`;

/** ARGV: sid, epoch, request id, room. */
const LEAVE = `
local sid, epoch, rid, room = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local g = guard(sid, epoch) if g then return g end
local c = cached(sid, rid) if c then return c end
if redis.call('HEXISTS', P .. 'r:' .. room, sid) == 0 then
  return fail(sid, rid, 'NOT_IN_ROOM', 'not in room ' .. str(room))
end
leave_room(sid, room)
return remember(sid, rid, '{"type":"left",' .. re(rid) .. '"room":' .. str(room) .. '}')
`;

/** ARGV: sid, epoch, seq. The client processed everything through seq: trim the outbox. */
const RECEIVED = `
local sid, epoch, seq = ARGV[4], ARGV[5], tonumber(ARGV[6])
local g = guard(sid, epoch) if g then return g end
local q = tonumber(redis.call('HGET', P .. 's:' .. sid, 'q'))
if seq > q then return 'ahead:' .. q end
redis.call('XTRIM', P .. 'o:' .. sid, 'MINID', '0-' .. (seq + 1))
return ''
`;

/**
 * ARGV: node, dead after ms, may declare nodes dead (1/0), resume window ms, may expire sessions (1/0).
 * The heartbeat and the janitor in one: records this node alive; gives the sessions of nodes silent for too long a
 * resume window from their last heartbeat; ends sessions whose window is over. Returns {sessions ended, 1 if this
 * node was not in the heartbeat set (it had been taken for dead)}.
 */
const REAP = `
local node, deadAfter, window = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[7])
local now = now_ms()
local fresh = redis.call('ZADD', P .. 'nodes', now, node)
if ARGV[6] == '1' then
  local dead = redis.call('ZRANGEBYSCORE', P .. 'nodes', '-inf', now - deadAfter, 'WITHSCORES', 'LIMIT', 0, 10)
  for i = 1, #dead, 2 do
    local name, last = dead[i], tonumber(dead[i + 1])
    for _, sid in ipairs(redis.call('SMEMBERS', P .. 'ns:' .. name)) do
      local skey = P .. 's:' .. sid
      if redis.call('HGET', skey, 'n') == name then
        redis.call('HSET', skey, 'n', '')
        redis.call('ZADD', P .. 'exp', last + window, sid)
      end
    end
    redis.call('DEL', P .. 'ns:' .. name, P .. 'n:' .. name)
    redis.call('ZREM', P .. 'nodes', name)
  end
end
local ended = 0
if ARGV[8] == '1' then
  for _, sid in ipairs(redis.call('ZRANGEBYSCORE', P .. 'exp', '-inf', now, 'LIMIT', 0, 500)) do
    end_session(sid, 'expired')
    redis.call('ZREM', P .. 'exp', sid)
    ended = ended + 1
  end
end
return {ended, fresh}
`;

/**
 * ARGV: node, resume window ms. A node that stops leaves the heartbeat set. Its sessions were detached one by one; any
 * that were not (Redis was unreachable then) are detached here, so none is left held by a node nobody sweeps.
 */
const RETIRE = `
local node = ARGV[4]
local deadline = now_ms() + tonumber(ARGV[5])
for _, sid in ipairs(redis.call('SMEMBERS', P .. 'ns:' .. node)) do
  local skey = P .. 's:' .. sid
  if redis.call('HGET', skey, 'n') == node then
    redis.call('HSET', skey, 'n', '')
    redis.call('ZADD', P .. 'exp', deadline, sid)
  end
end
redis.call('ZREM', P .. 'nodes', node)
redis.call('DEL', P .. 'ns:' .. node, P .. 'n:' .. node)
return 1
`;

/** ARGV: room, reason. Everyone is taken out; each gets removed (no member-left: nobody is left to hear it). */
const CLOSE_ROOM = `
local room = ARGV[4]
local rkey = P .. 'r:' .. room
local ids = redis.call('HKEYS', rkey)
local body = '{"type":"removed","room":' .. str(room) .. ',"reason":' .. str(ARGV[5]) .. '}'
for _, id in ipairs(ids) do
  redis.call('HDEL', P .. 'sr:' .. id, room)
  deliver(id, body)
end
redis.call('DEL', rkey)
redis.call('SREM', P .. 'rooms', room)
return #ids
`;

export const SCRIPTS = {
  create: CREATE,
  resume: RESUME,
  confirm: CONFIRM,
  detach: DETACH,
  end: END,
  signal: SIGNAL,
  broadcast: BROADCAST,
  join: JOIN,
  leave: LEAVE,
  received: RECEIVED,
  reap: REAP,
  retire: RETIRE,
  closeRoom: CLOSE_ROOM,
} as const;

export type ScriptName = keyof typeof SCRIPTS;

export function scriptSource(name: ScriptName): string {
  return PRELUDE + SCRIPTS[name];
}
