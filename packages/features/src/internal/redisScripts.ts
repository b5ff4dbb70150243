/**
 * The one Lua script behind hash-group mutations: guard check, HSET, HINCRBYFLOAT, decayed
 * counters, aux state and TTL, applied atomically to one key (so it is Redis Cluster safe).
 * Mirrors `MemoryBackend.applyOne` exactly.
 *
 * KEYS[1] the record
 * ARGV: guardStream ('' = none), guardSeq, guardFromSeq, ttlMs, hasAux ('0'|'1'), aux,
 *       nSet, (field, value)*, nIncr, (field, delta)*, nDecay, (field, delta, atMs, halfLifeMs)*
 * Returns 1 applied, 0 skipped (already applied), 2 conflict (straddles the guard mark).
 * (The body without its final `return 1`: see {@link APPLY_PLAIN_LUA} / {@link APPLY_SNAPSHOT_LUA}.)
 */
const APPLY_LUA = `
local key = KEYS[1]
local gs = ARGV[1]
if gs ~= '' then
  local gf = '~o:' .. gs
  local mark = tonumber(redis.call('HGET', key, gf) or '-1') or -1
  local seq = tonumber(ARGV[2])
  if seq <= mark then return 0 end
  if tonumber(ARGV[3]) <= mark then return 2 end
  redis.call('HSET', key, gf, ARGV[2])
end
local ttl = tonumber(ARGV[4])
if ARGV[5] == '1' then redis.call('HSET', key, '~aux', ARGV[6]) end
local i = 7
local n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do redis.call('HSET', key, ARGV[i], ARGV[i + 1]); i = i + 2 end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local r = redis.pcall('HINCRBYFLOAT', key, ARGV[i], ARGV[i + 1])
  if type(r) == 'table' and r.err then redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end
  i = i + 2
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local f = ARGV[i]
  local d = tonumber(ARGV[i + 1]); local at = tonumber(ARGV[i + 2]); local hl = tonumber(ARGV[i + 3])
  local tf = f .. '~t'
  local v = tonumber(redis.call('HGET', key, f) or '0') or 0
  local t = tonumber(redis.call('HGET', key, tf) or '')
  local tn = at
  if t == nil then v = v + d
  elseif at >= t then v = v * math.pow(2, -(at - t) / hl) + d
  else v = v + d * math.pow(2, -(t - at) / hl); tn = t end
  redis.call('HSET', key, f, string.format('%.17g', v), tf, string.format('%.17g', tn))
  i = i + 4
end
if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
`;

/**
 * Ends {@link APPLY_LUA}: `i` points past the decay quadruples.
 * @internal
 */
const APPLY_END = `
return 1
`;

/**
 * One hash field's value in the packed snapshot encoding (shared by {@link SNAPSHOT_LUA} and
 * {@link APPLY_MULTI_LUA}): the bytes, `nil` to leave the field out (missing), or `false` when the
 * value is in a form the store never writes (the caller then drops the snapshot).
 */
const ENCODE_FIELD_LUA = `
local function encode_field(t, v)
  if t == 110 then -- n
    if #v <= 40 then
      if string.find(v, '[^%d%.eE%+%-]') then return false end
      local x = tonumber(v)
      if x and x == x and x ~= math.huge and x ~= -math.huge then return struct.pack('<d', x) end
    end
  elseif t == 118 then -- v
    if #v % 4 == 0 and #v <= 262140 then return struct.pack('<H', #v / 4) .. v end
  elseif t == 99 then -- c
    if #v <= 65535 then return struct.pack('<H', #v) .. v end
  elseif v == '' then -- l: the empty list
    return struct.pack('<H', 0)
  elseif string.byte(v, 1) == 31 then
    local ids = {}
    local cnt = 0
    local pos = 2
    while true do
      local s = string.find(v, '\\031', pos, true)
      local piece = s and string.sub(v, pos, s - 1) or string.sub(v, pos)
      cnt = cnt + 1
      ids[cnt] = struct.pack('<H', #piece) .. piece
      if not s then break end
      pos = s + 1
    end
    if cnt <= 65535 then return struct.pack('<H', cnt) .. table.concat(ids) end
  end
  return nil
end
`;

/**
 * Refreshes the packed snapshot of the hash (KEYS[2]) from its current fields, after the update and
 * in the same script, so the snapshot can never disagree with the hash it was built from. Layout:
 * the `packed` record format (see `codec.ts`) over the group's hash fields — the features in
 * schema order, then the `<name>~t` timestamps of decayed counters (`snapshotSpec` in
 * `columns.ts`). Each field is packed exactly as the hash decoder would read it, and left out (so
 * it reads as missing) where the hash decoder would report it missing: a non-finite number or one
 * longer than 40 bytes, a vector whose byte length is not a multiple of 4 (another wrong length
 * decodes as missing), an id list without its leading U+001F. Numbers are parsed with Lua's
 * `tonumber` (C `strtod`, correctly rounded like JS `Number`) only when they consist of the
 * characters `0-9 . e E + -`, where strtod's decimal grammar and JS's `StrDecimalLiteral` accept
 * the same strings (the forms the store itself writes: `String(x)`, `HINCRBYFLOAT`, `%.17g`).
 * Anything else (hex, `0b`, spaces, `Infinity` — only a hand-written field can hold it) makes the
 * script delete the snapshot instead, and readers fall back to the hash. (Malformed fields read as missing
 * either way, but only the hash path counts them in `decodeErrors`.)
 *
 * ARGV[i]: the group's snapshot spec, one binary string built once per group (`snapshotSpec`):
 *          header (7 bytes: version, fingerprint, count) .. types (one of n/v/c/l per field) ..
 *          NUL .. the hash field names joined by NUL. One argument instead of ~20 per call: it
 *          measured cheaper for the client to encode and for Redis to parse.
 * @internal
 */
const SNAPSHOT_LUA = `${ENCODE_FIELD_LUA}
local spec = ARGV[i]
local header = string.sub(spec, 1, 7)
local z = string.find(spec, '\\0', 8, true)
local types = string.sub(spec, 8, z - 1)
local nf = #types
local fields = {}
local pos = z + 1
for j = 1, nf do
  local e = string.find(spec, '\\0', pos, true) or (#spec + 1)
  fields[j] = string.sub(spec, pos, e - 1)
  pos = e + 1
end
local vals = redis.call('HMGET', key, unpack(fields))
local bm = {}
for j = 1, math.floor((nf + 7) / 8) do bm[j] = 0 end
local parts = {}
local np = 0
for j = 1, nf do
  local v = vals[j]
  if v then
    local enc = encode_field(string.byte(types, j), v)
    if enc == false then
      redis.call('DEL', KEYS[2])
      return 1
    end
    if enc then
      np = np + 1
      parts[np] = enc
      local b = math.floor((j - 1) / 8) + 1
      bm[b] = bm[b] + 2 ^ ((j - 1) % 8)
    end
  end
end
local rec = header .. string.char(unpack(bm)) .. table.concat(parts)
if ttl > 0 then redis.call('SET', KEYS[2], rec, 'PX', ttl) else redis.call('SET', KEYS[2], rec) end
`;

/** Hash-group mutation without a snapshot (user groups, or snapshots off). KEYS[1] the record. */
export const APPLY_PLAIN_LUA = APPLY_LUA + APPLY_END;

/**
 * Hash-group mutation that also refreshes the record's packed snapshot. KEYS[1] the record,
 * KEYS[2] its snapshot (same `{id}` hash tag, so the same cluster slot). ARGV: as
 * {@link APPLY_LUA}, then the snapshot arguments of `SNAPSHOT_LUA`.
 */
export const APPLY_SNAPSHOT_LUA = APPLY_LUA + SNAPSHOT_LUA + APPLY_END;

/**
 * Many hash-group mutations in ONE script call (the streaming aggregator writes one record per
 * item, creator and user of a batch: hundreds of calls per batch). Each record is applied exactly
 * as {@link APPLY_LUA} would (own guard, own result, own snapshot refresh); what is saved is the
 * per-call cost on both sides — Redis parses one command and enters Lua once, the snapshot spec is
 * parsed once per call instead of once per record, and the client sends one command instead of one
 * promise-carrying command per record. Fields set together go out as one `HSET`, and a decayed
 * counter's value and time are read with one `HMGET`.
 *
 * KEYS: the records (plain), or record, snapshot pairs (with snapshots), in application order.
 * ARGV[1]: the snapshot spec (see SNAPSHOT_LUA) with its 7-byte header as 14 hex digits, so the
 *   argument is valid UTF-8 text and ioredis encodes the call as one string instead of switching
 *   to its slower mixed string/Buffer encoding for the whole call (`specText` in RedisBackend);
 *   or '' (plain); then per record: the number of
 *   its arguments n, then n arguments laid out like APPLY_LUA's ARGV.
 * Returns one result per record (1 applied, 0 skipped, 2 conflict). Records of one call are
 * applied in order, so several mutations of one record in one call see each other's effects.
 * @internal
 */
export const APPLY_MULTI_LUA = `${ENCODE_FIELD_LUA}
local snap = ARGV[1] ~= ''
local header, types, nf, fields
if snap then
  local spec = ARGV[1]
  header = string.gsub(string.sub(spec, 1, 14), '..', function(h) return string.char(tonumber(h, 16)) end)
  local z = string.find(spec, '\\0', 15, true)
  types = string.sub(spec, 15, z - 1)
  nf = #types
  fields = {}
  local pos = z + 1
  for j = 1, nf do
    local e = string.find(spec, '\\0', pos, true) or (#spec + 1)
    fields[j] = string.sub(spec, pos, e - 1)
    pos = e + 1
  end
end

local function refresh(key, skey, ttl)
  local vals = redis.call('HMGET', key, unpack(fields))
  local bm = {}
  for j = 1, math.floor((nf + 7) / 8) do bm[j] = 0 end
  local parts = {}
  local np = 0
  for j = 1, nf do
    local v = vals[j]
    if v then
      local enc = encode_field(string.byte(types, j), v)
      if enc == false then
        redis.call('DEL', skey)
        return
      end
      if enc then
        np = np + 1
        parts[np] = enc
        local b = math.floor((j - 1) / 8) + 1
        bm[b] = bm[b] + 2 ^ ((j - 1) % 8)
      end
    end
  end
  local rec = header .. string.char(unpack(bm)) .. table.concat(parts)
  if ttl > 0 then redis.call('SET', skey, rec, 'PX', ttl) else redis.call('SET', skey, rec) end
end

local function apply(key, skey, o)
  local gs = ARGV[o]
  if gs ~= '' then
    local gf = '~o:' .. gs
    local mark = tonumber(redis.call('HGET', key, gf) or '-1') or -1
    local seq = tonumber(ARGV[o + 1])
    if seq <= mark then return 0 end
    if tonumber(ARGV[o + 2]) <= mark then return 2 end
    redis.call('HSET', key, gf, ARGV[o + 1])
  end
  local ttl = tonumber(ARGV[o + 3])
  local i = o + 6
  local n = tonumber(ARGV[i]); i = i + 1
  if ARGV[o + 4] == '1' then
    if n > 0 then redis.call('HSET', key, '~aux', ARGV[o + 5], unpack(ARGV, i, i + 2 * n - 1))
    else redis.call('HSET', key, '~aux', ARGV[o + 5]) end
  elseif n > 0 then
    redis.call('HSET', key, unpack(ARGV, i, i + 2 * n - 1))
  end
  i = i + 2 * n
  n = tonumber(ARGV[i]); i = i + 1
  for _ = 1, n do
    local r = redis.pcall('HINCRBYFLOAT', key, ARGV[i], ARGV[i + 1])
    if type(r) == 'table' and r.err then redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end
    i = i + 2
  end
  n = tonumber(ARGV[i]); i = i + 1
  for _ = 1, n do
    local f = ARGV[i]
    local d = tonumber(ARGV[i + 1]); local at = tonumber(ARGV[i + 2]); local hl = tonumber(ARGV[i + 3])
    local tf = f .. '~t'
    local cur = redis.call('HMGET', key, f, tf)
    local v = tonumber(cur[1] or '0') or 0
    local t = tonumber(cur[2] or '')
    local tn = at
    if t == nil then v = v + d
    elseif at >= t then v = v * math.pow(2, -(at - t) / hl) + d
    else v = v + d * math.pow(2, -(t - at) / hl); tn = t end
    redis.call('HSET', key, f, string.format('%.17g', v), tf, string.format('%.17g', tn))
    i = i + 4
  end
  if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
  if skey then refresh(key, skey, ttl) end
  return 1
end

local out = {}
local o = 2
local kpr = snap and 2 or 1
for r = 1, #KEYS / kpr do
  local n = tonumber(ARGV[o])
  if snap then out[r] = apply(KEYS[2 * r - 1], KEYS[2 * r], o + 1)
  else out[r] = apply(KEYS[r], nil, o + 1) end
  o = o + 1 + n
end
return out
`;
