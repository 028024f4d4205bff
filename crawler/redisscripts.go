// This file holds the Lua scripts of the RedisFrontier: each step of a URL
// (admission, hand-out, retry, finish) and the reaping of dead workers' leases
// runs as one script, so it is atomic and takes one round trip.
//
// Keys, all under the crawl's prefix "sluice:{NAME}:" (one hash tag, so one
// Cluster slot):
//
//	n          hash: p = URLs pending, i = URLs in flight, for all workers;
//	           a = URLs admitted, less those robots.txt denied (MaxPages);
//	           m = the seen-set's layout, "MASK/11" (bucket mask, fingerprint
//	           bytes kept), set by the first admission
//	r          sorted set: hosts with pending URLs, scored by the time (µs,
//	           Redis clock) each may next start
//	t          hash: host → next start (µs) of paced hosts, kept while the
//	           host's queue is empty
//	h          hash: host → URLs in flight
//	l          string: the last lease number
//	w          sorted set: worker → deadline (µs) of all its leases, set
//	           by its heartbeats and hand-outs
//	m          hash: last = last heartbeat (µs), up = since when heartbeats
//	           have come without a gap longer than the lease TTL
//	o:WORKER   hash: lease → host "\n" item, the worker's leases
//	q:HOST     list: the host's pending items
//	robots:HOST  string: the host's robots.txt (status, fetch time, body),
//	           kept until 24 hours after its fetch
//	rlock:HOST string: the worker fetching HOST's robots.txt for all
//	s + 3 bytes  hash: seen-set bucket; field = fingerprint bytes 3..10,
//	           value = p (pending), d (done), f (failed) or
//	           i<lease>@<worker> (in flight)
//
// An item is the fingerprint's first 11 bytes (the bucket's 3 and the
// field's 8) followed by the entry's encoding (appendRedisItem).

package crawler

import "github.com/redis/go-redis/v9"

// luaPrelude holds the helpers the scripts share. The bucket of a
// fingerprint is its first 24 bits under the mask; its field the other 13
// bytes.
const luaPrelude = `
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function bucket(prefix, mask, fp)
  local a, b, c = string.byte(fp, 1, 3)
  local i = bit.band(a * 65536 + b * 256 + c, tonumber(mask))
  return prefix .. 's' .. string.char(bit.rshift(i, 16), bit.band(bit.rshift(i, 8), 255), bit.band(i, 255))
end
local function ready(r, t, host)
  if not redis.call('ZSCORE', r, host) then
    redis.call('ZADD', r, redis.call('HGET', t, host) or 0, host)
  end
end
local function unbusy(h, host, k)
  if redis.call('HINCRBY', h, host, -k) <= 0 then redis.call('HDEL', h, host) end
end
`

// luaAdmit admits URLs under a crawl-wide cap on URLs admitted (0: none).
// admitter checks the seen-set's layout and returns the state of a batch
// of admissions, or nil when must is '1' and the crawl has no layout: the
// caller has seen the crawl, and its keys are gone (Redis restarted
// without its data), so the scripts answer "GONE" instead of admitting
// links into an empty seen-set, a crawl started again from scratch.
// admit(a, base, count, out) admits the count URLs given
// from ARGV[base] on, two arguments each (host, item), appending to out 1
// per new URL, 0 per URL seen before, 2 per new URL over the cap. The
// bucket, field and queue of a URL are found from its item and host, so a
// call carries each URL once. The caller adds a.added to the counts.
const luaAdmit = `
local function admitter(prefix, mask, cap, must)
  local n = prefix .. 'n'
  local m, want = redis.call('HGET', n, 'm'), mask .. '/11'
  if not m then
    if must == '1' then return nil end
    redis.call('HSET', n, 'm', want)
  elseif m ~= want then
    error({err = 'crawler: the crawl keeps its seen-set as ' .. m .. ' (bucket mask/fingerprint bytes), not ' .. want .. ': give every process the same SeenBuckets, and the same sluice version'})
  end
  local room = -1
  if cap > 0 then room = math.max(cap - tonumber(redis.call('HGET', n, 'a') or '0'), 0) end
  return {prefix = prefix, mask = mask, room = room, added = 0, known = {}}
end
local function admit(a, base, count, out)
  local prefix, mask = a.prefix, a.mask
  for i = 0, count - 1 do
    local host, item = ARGV[base + 2 * i], ARGV[base + 2 * i + 1]
    local fp = string.sub(item, 1, 11)
    local b, f = bucket(prefix, mask, fp), string.sub(fp, 4)
    local code = 0
    if a.room == 0 then
      if redis.call('HEXISTS', b, f) == 0 then code = 2 end
    elseif redis.call('HSETNX', b, f, 'p') == 1 then
      redis.call('RPUSH', prefix .. 'q:' .. host, item)
      if not a.known[host] then ready(prefix .. 'r', prefix .. 't', host); a.known[host] = true end
      a.added = a.added + 1
      if a.room > 0 then a.room = a.room - 1 end
      code = 1
    end
    out[#out + 1] = code
  end
end
`

// admitScript: KEYS n; ARGV prefix, mask, cap, must, count, then per URL
// host, item. Returns admit's codes.
var admitScript = redis.NewScript(luaPrelude + luaAdmit + `
local a = admitter(ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4])
if not a then return redis.error_reply('GONE') end
local out = {}
admit(a, 6, tonumber(ARGV[5]), out)
if a.added > 0 then
  redis.call('HINCRBY', KEYS[1], 'p', a.added)
  redis.call('HINCRBY', KEYS[1], 'a', a.added)
end
return out
`)

// popScript: KEYS n r t h l o:WORKER q:HOST w; ARGV host, worker, delay µs,
// per-host cap, most items, slack µs, prefix, mask, ttl µs. Returns {0}
// when the queue is empty, {1, wait µs} when the host may not start yet,
// {2} when it is at its cap, {3, lease, item, ...} otherwise. A hand-out
// sets the worker's deadline in w, as a heartbeat does: the leases of a
// worker not in w are never reaped, and its first heartbeat may not have
// reached Redis yet when it takes URLs and dies.
var popScript = redis.NewScript(luaPrelude + `
local host, worker = ARGV[1], ARGV[2]
local delay, cap, k, slack = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local score = redis.call('ZSCORE', KEYS[2], host)
if not score then return {0} end
score = tonumber(score)
local now = now_us()
if delay > 0 then
  if score > now then return {1, score - now} end
  k = 1
end
if cap > 0 then
  local busy = tonumber(redis.call('HGET', KEYS[4], host) or '0')
  if busy >= cap then return {2} end
  k = math.min(k, cap - busy)
end
local items = redis.call('LPOP', KEYS[7], k)
if not items then
  redis.call('ZREM', KEYS[2], host)
  return {0}
end
local out, owned = {3}, {}
local first = redis.call('INCRBY', KEYS[5], #items) - #items
for j, item in ipairs(items) do
  local lease = first + j
  local fp = string.sub(item, 1, 11)
  redis.call('HSET', bucket(ARGV[7], ARGV[8], fp), string.sub(fp, 4), 'i' .. lease .. '@' .. worker)
  owned[2 * j - 1] = lease
  owned[2 * j] = host .. '\n' .. item
  out[#out + 1] = lease
  out[#out + 1] = item
end
redis.call('HSET', KEYS[6], unpack(owned))
redis.call('ZADD', KEYS[8], now + tonumber(ARGV[9]), worker)
redis.call('HINCRBY', KEYS[1], 'p', -#items)
redis.call('HINCRBY', KEYS[1], 'i', #items)
redis.call('HINCRBY', KEYS[4], host, #items)
local next = now
if delay > 0 then
  if now - score <= slack then next = score + delay else next = now + delay end
  redis.call('HSET', KEYS[3], host, next)
end
if redis.call('LLEN', KEYS[7]) == 0 then
  redis.call('ZREM', KEYS[2], host)
else
  redis.call('ZADD', KEYS[2], next, host)
end
return out
`)

// leaseHolder is the Lua check that the URL's current lease is ARGV[2];
// it sets v and owner (the o:WORKER key).
const leaseHolder = `
local v = redis.call('HGET', KEYS[5], ARGV[1])
local owner
if v then
  local pre = 'i' .. ARGV[2] .. '@'
  if string.sub(v, 1, #pre) == pre then owner = ARGV[5] .. 'o:' .. string.sub(v, #pre + 1) end
end
`

// retryScript: KEYS n r t h bucket q:HOST; ARGV field, lease, host, item,
// prefix. Returns 0 when the lease is not current.
var retryScript = redis.NewScript(luaPrelude + leaseHolder + `
if not owner then return 0 end
redis.call('HDEL', owner, ARGV[2])
redis.call('HSET', KEYS[5], ARGV[1], 'p')
redis.call('RPUSH', KEYS[6], ARGV[4])
ready(KEYS[2], KEYS[3], ARGV[3])
redis.call('HINCRBY', KEYS[1], 'p', 1)
redis.call('HINCRBY', KEYS[1], 'i', -1)
unbusy(KEYS[4], ARGV[3], 1)
return 1
`)

// luaFinish finishes one page: fp is its fingerprint's first 11 bytes,
// lease the lease it was handed out under ('0': none) and state its new
// state. It reports whether it did (false when the lease is not current, or
// when lease is '0' and the URL is in flight), and the owner hash and
// whether the lease's URL left it.
const luaFinish = `
local function finish(prefix, mask, fp, lease, state)
  local b, f = bucket(prefix, mask, fp), string.sub(fp, 4)
  local v = redis.call('HGET', b, f)
  if lease ~= '0' then
    local pre = 'i' .. lease .. '@'
    if not v or string.sub(v, 1, #pre) ~= pre then return false end
    redis.call('HDEL', prefix .. 'o:' .. string.sub(v, #pre + 1), lease)
  elseif v and string.sub(v, 1, 1) == 'i' then
    return false
  end
  redis.call('HSET', b, f, state)
  return true
end
`

// finishScript finishes a batch of pages and admits their links, in one
// call: the finisher's batch is one script, not one script a page, and the
// counts of the batch are added once. KEYS n r t h; ARGV prefix, mask,
// cap, must, pages, then per page fp (11 bytes), lease, host, state, uncount,
// count, then count links (host, item). Each page's links are admitted
// before it is finished (so the crawl is never seen empty in between);
// with uncount 1, the page no longer counts against the cap (robots.txt
// denied it). Returns per page {ok, codes...}: ok is 0 when the lease is
// not current, or when lease is 0 and the URL is in flight.
var finishScript = redis.NewScript(luaPrelude + luaAdmit + luaFinish + `
local prefix, mask, cap, pages = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[5])
local a = admitter(prefix, mask, cap, ARGV[4])
if not a then return redis.error_reply('GONE') end
local out, busy, done, uncounted, j = {}, {}, 0, 0, 6
for _ = 1, pages do
  local fp, lease, host, state, unc, count = ARGV[j], ARGV[j + 1], ARGV[j + 2], ARGV[j + 3], ARGV[j + 4], tonumber(ARGV[j + 5])
  local k = #out + 1
  out[k] = 0
  admit(a, j + 6, count, out)
  j = j + 6 + 2 * count
  if finish(prefix, mask, fp, lease, state) then
    out[k] = 1
    if lease ~= '0' then
      done = done + 1
      busy[host] = (busy[host] or 0) + 1
    end
    if unc == '1' then
      uncounted = uncounted + 1
      if a.room >= 0 then a.room = a.room + 1 end
    end
  end
end
local n = KEYS[1]
if a.added > 0 then redis.call('HINCRBY', n, 'p', a.added) end
if a.added ~= uncounted then redis.call('HINCRBY', n, 'a', a.added - uncounted) end
if done > 0 then redis.call('HINCRBY', n, 'i', -done) end
for host, k in pairs(busy) do unbusy(KEYS[4], host, k) end
return out
`)

// requeue puts back the leases of the o:WORKER hash okey whose numbers are
// in leases (all of them when leases is nil) and still current, at the
// front of their queues.
const luaRequeue = `
local function requeue(prefix, mask, okey, worker, leases)
  local recs = redis.call('HGETALL', okey)
  local n = 0
  -- Backwards, so that the URLs go back to the front in the order they
  -- were handed out.
  for j = #recs - 1, 1, -2 do
    local lease, rec = recs[j], recs[j + 1]
    if leases == nil or leases[lease] then
      local nl = string.find(rec, '\n', 1, true)
      local host, item = string.sub(rec, 1, nl - 1), string.sub(rec, nl + 1)
      local fp = string.sub(item, 1, 11)
      local b, f = bucket(prefix, mask, fp), string.sub(fp, 4)
      if redis.call('HGET', b, f) == 'i' .. lease .. '@' .. worker then
        redis.call('HSET', b, f, 'p')
        redis.call('LPUSH', prefix .. 'q:' .. host, item)
        ready(prefix .. 'r', prefix .. 't', host)
        unbusy(prefix .. 'h', host, 1)
        n = n + 1
      end
      redis.call('HDEL', okey, lease)
    end
  end
  if n > 0 then
    redis.call('HINCRBY', prefix .. 'n', 'p', n)
    redis.call('HINCRBY', prefix .. 'n', 'i', -n)
  end
  return n
end
`

// heartbeatScript: KEYS w m; ARGV worker, ttl µs, prefix, mask. It renews
// all the worker's leases, then reaps those of up to 16 workers whose
// deadline has passed, provided heartbeats have come for a full TTL
// without a gap (after Redis was down, every worker gets a TTL to renew
// before any is called dead). Returns the URLs put back.
var heartbeatScript = redis.NewScript(luaPrelude + luaRequeue + `
local worker, ttl, prefix, mask = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local now = now_us()
local last = tonumber(redis.call('HGET', KEYS[2], 'last') or '0')
if now - last > ttl then redis.call('HSET', KEYS[2], 'up', now) end
redis.call('HSET', KEYS[2], 'last', now)
redis.call('ZADD', KEYS[1], now + ttl, worker)
if now - tonumber(redis.call('HGET', KEYS[2], 'up')) < ttl then return 0 end
local n = 0
for _, d in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 16)) do
  local okey = prefix .. 'o:' .. d
  n = n + requeue(prefix, mask, okey, d, nil)
  redis.call('DEL', okey)
  redis.call('ZREM', KEYS[1], d)
end
return n
`)

// releaseScript: KEYS o:WORKER w; ARGV worker, prefix, mask, keep, then
// lease numbers. It puts back the worker's leases not listed (ones the
// worker lost track of when a reply was lost); with keep 0, it puts back
// all of them and removes the worker. Returns the URLs put back.
var releaseScript = redis.NewScript(luaPrelude + luaRequeue + `
local worker, prefix, mask = ARGV[1], ARGV[2], ARGV[3]
if ARGV[4] == '0' then
  local n = requeue(prefix, mask, KEYS[1], worker, nil)
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], worker)
  return n
end
local held = {}
for i = 5, #ARGV do held[ARGV[i]] = true end
local lost = {}
for _, lease in ipairs(redis.call('HKEYS', KEYS[1])) do
  if not held[lease] then lost[lease] = true end
end
return requeue(prefix, mask, KEYS[1], worker, lost)
`)
