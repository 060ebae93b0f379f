//! The counters in Redis: reserve and commit are Lua scripts, so each is one atomic step in
//! Redis whatever the number of service replicas (docs/spend.md, "Mesh-wide store").
//!
//! Why not limitador's Redis storage: limitador 0.11–0.14 (0.14 is the newest) do not compile
//! with `redis_storage` unless `disk_storage` (RocksDB, built from C++ sources) is enabled too,
//! since `storage/keys.rs` calls a function of a module gated on `disk_storage`. The two scripts
//! below are the same algorithm as limitador's reserve/commit, kept in Redis, not a counter of
//! our own spread over replicas: Redis is the one place the budget lives.
//!
//! One counter (a limit's `key` within a domain, limit name and window) is three Redis keys
//! sharing one hash tag (one Redis Cluster slot):
//! - `og:{<domain>/<limit>/<window>/<key>}`: a hash `start` (ms, the window's first use), `used`,
//!   `held` (sum of live reservations), `seq` (last reservation number); it expires when the
//!   window ends, so the next use starts a new window (limitador's windows: from first use);
//! - `…:r`: a hash reservation id → amount; `…:x`: a sorted set reservation id → expiry (ms).
//!
//! Both expire with the window. A reservation id is `<start>-<seq>`: unique across windows, so
//! the commit of a reservation from an ended window never releases one of the next window.
//! Amounts are decimal strings passed to `HINCRBY` (64-bit in Redis); comparisons use Lua
//! numbers, exact up to 2^53 (the service refuses larger amounts and maxima: protocol.rs).

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Script};
use tokio::sync::Mutex;

use crate::protocol::Op;
use crate::service::Reserved;

/// The current time in ms from Redis (every replica of the service reads the same clock), and
/// a new window (`HSET start/used/held/seq`, expiring after the window) when none is running;
/// then the reservations past their TTL are dropped from `held`.
const PRELUDE: &str = r"
local k, r, x = KEYS[1], KEYS[2], KEYS[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local start = redis.call('HGET', k, 'start')
if not start then
  redis.call('DEL', r, x)
  start = tostring(now)
  redis.call('HSET', k, 'start', start, 'used', 0, 'held', 0, 'seq', 0)
  redis.call('PEXPIRE', k, ARGV[1])
end
local gone = redis.call('ZRANGEBYSCORE', x, '-inf', now)
for _, id in ipairs(gone) do
  local a = redis.call('HGET', r, id)
  if a then
    redis.call('HINCRBY', k, 'held', '-' .. a)
    redis.call('HDEL', r, id)
  end
end
if #gone > 0 then redis.call('ZREMRANGEBYSCORE', x, '-inf', now) end
local ttl = redis.call('PTTL', k)
";

/// Reserve: ARGV window ms, max, amount, hold ttl ms. Returns `{admitted 0/1, ms to reset,
/// reservation id or ''}`: admitted iff `used + held + amount <= max`, the amount then held.
const RESERVE: &str = r"
local used = tonumber(redis.call('HGET', k, 'used'))
local held = tonumber(redis.call('HGET', k, 'held'))
if used + held + tonumber(ARGV[3]) > tonumber(ARGV[2]) then return {0, ttl, ''} end
if ARGV[3] == '0' then return {1, ttl, ''} end
local id = start .. '-' .. redis.call('HINCRBY', k, 'seq', 1)
redis.call('HSET', r, id, ARGV[3])
redis.call('HINCRBY', k, 'held', ARGV[3])
redis.call('ZADD', x, now + tonumber(ARGV[4]), id)
if ttl > 0 then
  redis.call('PEXPIRE', r, ttl)
  redis.call('PEXPIRE', x, ttl)
end
return {1, ttl, id}
";

/// Commit: ARGV window ms, reservation id or '', amount. Drops the hold (if still live in this
/// window) and adds the amount to `used`.
const COMMIT: &str = r"
if ARGV[2] ~= '' then
  local a = redis.call('HGET', r, ARGV[2])
  if a then
    redis.call('HINCRBY', k, 'held', '-' .. a)
    redis.call('HDEL', r, ARGV[2])
    redis.call('ZREM', x, ARGV[2])
  end
end
if ARGV[3] ~= '0' then redis.call('HINCRBY', k, 'used', ARGV[3]) end
return ttl
";

/// The Redis client and the two scripts (sent by SHA, loaded on first use: `Script`, which also
/// reloads them after a Redis restart flushed its script cache).
///
/// One multiplexed connection shared by every call. A call that fails or takes longer than
/// `timeout` drops it, and the next call connects again (within the same `timeout`): a Redis
/// restart costs the calls made while it is down (each answered within `timeout`, so the filter
/// applies each limit's failure mode), never a connection that stays broken.
pub(crate) struct RedisStore {
    client: redis::Client,
    timeout: Duration,
    con: Mutex<Option<MultiplexedConnection>>,
    reserve: Script,
    commit: Script,
}

/// A counter's keys (see the module doc). `{`, `}` and `%` of the key are %-escaped, so the
/// hash tag is the whole counter name.
fn keys(domain: &str, op: &Op) -> [String; 3] {
    let mut key = String::with_capacity(op.key.len());
    for c in op.key.chars() {
        match c {
            '%' => key.push_str("%25"),
            '{' => key.push_str("%7B"),
            '}' => key.push_str("%7D"),
            c => key.push(c),
        }
    }
    let base = format!("og:{{{domain}/{}/{}/{key}}}", op.limit, op.window_s);
    let r = format!("{base}:r");
    let x = format!("{base}:x");
    [base, r, x]
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl RedisStore {
    /// Opens the client and checks Redis answers (so a wrong `--redis` fails at start).
    pub(crate) async fn connect(url: &str, timeout: Duration) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| e.to_string())?;
        let store = Self {
            client,
            timeout,
            con: Mutex::new(None),
            reserve: Script::new(&format!("{PRELUDE}{RESERVE}")),
            commit: Script::new(&format!("{PRELUDE}{COMMIT}")),
        };
        store.connection().await?;
        Ok(store)
    }

    /// The shared connection, made again if a call dropped it.
    async fn connection(&self) -> Result<MultiplexedConnection, String> {
        let mut slot = self.con.lock().await;
        if let Some(con) = slot.as_ref() {
            return Ok(con.clone());
        }
        let config =
            AsyncConnectionConfig::new().set_connection_timeout(self.timeout).set_response_timeout(self.timeout);
        let made =
            tokio::time::timeout(self.timeout, self.client.get_multiplexed_async_connection_with_config(&config))
                .await
                .map_err(|_| "redis: connect timed out".to_string())?
                .map_err(|e| e.to_string())?;
        *slot = Some(made.clone());
        Ok(made)
    }

    /// Forgets the shared connection after a failed call: the next call connects again.
    async fn drop_connection(&self) {
        *self.con.lock().await = None;
    }

    /// Runs one script call within `timeout`; on failure the connection is dropped.
    async fn call<T: redis::FromRedisValue>(&self, inv: redis::ScriptInvocation<'_>) -> Result<T, String> {
        let mut con = self.connection().await?;
        let res = match tokio::time::timeout(self.timeout, inv.invoke_async(&mut con)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("redis: call timed out".to_string()),
        };
        if res.is_err() {
            self.drop_connection().await;
        }
        res
    }

    pub(crate) async fn reserve(&self, domain: &str, op: &Op, ttl: Duration) -> Result<Reserved, String> {
        let [k, r, x] = keys(domain, op);
        let mut inv = self.reserve.prepare_invoke();
        inv.key(k).key(r).key(x).arg(op.window_s.saturating_mul(1000)).arg(op.max).arg(op.amount).arg(ms(ttl).max(1));
        let (admitted, reset_ms, id): (u8, i64, String) = self.call(inv).await?;
        Ok(Reserved {
            limited: admitted == 0,
            id: (!id.is_empty()).then_some(id),
            reset: u64::try_from(reset_ms).ok().map(Duration::from_millis),
        })
    }

    pub(crate) async fn commit(&self, domain: &str, op: &Op) -> Result<(), String> {
        let [k, r, x] = keys(domain, op);
        let mut inv = self.commit.prepare_invoke();
        inv.key(k)
            .key(r)
            .key(x)
            .arg(op.window_s.saturating_mul(1000))
            .arg(op.id.as_deref().unwrap_or(""))
            .arg(op.amount);
        let _: i64 = self.call(inv).await?;
        Ok(())
    }
}
