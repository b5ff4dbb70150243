/**
 * The one Lua script behind hash-group mutations: guard check, HSET, HINCRBYFLOAT, decayed
 * counters, aux state and TTL, applied atomically to one key (so it is Redis Cluster safe).
 * Mirrors `MemoryBackend.applyOne` exactly.
 *
 * KEYS[1] the record
 * ARGV: guardStream ('' = none), guardSeq, guardFromSeq, ttlMs, hasAux ('0'|'1'), aux,
 *       nSet, (field, value)*, nIncr, (field, delta)*, nDecay, (field, delta, atMs, halfLifeMs)*
 * Returns 1 applied, 0 skipped (already applied), 2 conflict (straddles the guard mark).
 */
export const APPLY_LUA = `
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
return 1
`;
