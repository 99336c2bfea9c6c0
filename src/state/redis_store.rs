//! The Redis store: per subscription a state key and a lease key,
//! `<prefix><subscription>:state` and `<prefix><subscription>:lease`.
//!
//! The lease is `SET lease TOKEN NX PX ttl` (expiry by the server's clock);
//! renew, commit and release are Lua scripts that first check the token,
//! so they are atomic and do nothing for a poller that lost its lease. The
//! prefix is `spec:trigger:` unless the URL carries `?key_prefix=...`
//! (tests use a unique one and delete its keys after).

use std::time::Duration;

use redis::aio::MultiplexedConnection;

use super::{BoxFuture, Lease, StateStore, StoreError, without_password};

const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0";

const COMMIT: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '1' then redis.call('SET', KEYS[2], ARGV[3]) else redis.call('DEL', KEYS[2]) end
return 1";

const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0";

/// Redis, for platforms that run many pollers.
pub struct RedisStore {
    connection: MultiplexedConnection,
    prefix: String,
    shown: String,
}

impl RedisStore {
    /// Connects to `url` (`redis://host:port/db`, optionally
    /// `?key_prefix=PREFIX`).
    pub async fn connect(url: &str) -> Result<RedisStore, StoreError> {
        let shown = without_password(url);
        let (base, prefix) = split_prefix(url);
        let fail =
            |e: redis::RedisError| StoreError::new(format!("cannot connect to Redis {shown}: {e}"));
        let client = redis::Client::open(base.as_str()).map_err(fail)?;
        let connection = tokio::time::timeout(
            Duration::from_secs(10),
            client.get_multiplexed_async_connection(),
        )
        .await
        .map_err(|_| StoreError::new(format!("cannot connect to Redis {shown}: timed out")))?
        .map_err(fail)?;
        Ok(RedisStore {
            connection,
            prefix,
            shown,
        })
    }

    fn keys(&self, subscription: &str) -> (String, String) {
        (
            format!("{}{subscription}:lease", self.prefix),
            format!("{}{subscription}:state", self.prefix),
        )
    }

    fn error(&self, e: redis::RedisError) -> StoreError {
        StoreError::new(format!("Redis {}: {e}", self.shown))
    }
}

/// The URL without `key_prefix`, and the prefix.
fn split_prefix(url: &str) -> (String, String) {
    let default = "spec:trigger:".to_string();
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), default);
    };
    let mut prefix = default;
    let mut kept = Vec::new();
    for pair in query.split('&') {
        match pair.strip_prefix("key_prefix=") {
            Some(value) => prefix = value.to_string(),
            None => kept.push(pair),
        }
    }
    if kept.is_empty() {
        (base.to_string(), prefix)
    } else {
        (format!("{base}?{}", kept.join("&")), prefix)
    }
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl StateStore for RedisStore {
    fn describe(&self) -> String {
        format!("Redis {} (keys {}…)", self.shown, self.prefix)
    }

    fn acquire<'a>(
        &'a self,
        subscription: &'a str,
        token: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Lease, StoreError>> {
        Box::pin(async move {
            let (lease, state) = self.keys(subscription);
            let mut connection = self.connection.clone();
            let taken: Option<String> = redis::cmd("SET")
                .arg(&lease)
                .arg(token)
                .arg("NX")
                .arg("PX")
                .arg(millis(ttl))
                .query_async(&mut connection)
                .await
                .map_err(|e| self.error(e))?;
            if taken.is_none() {
                return Ok(Lease::Busy);
            }
            let text: Option<String> = redis::cmd("GET")
                .arg(&state)
                .query_async(&mut connection)
                .await
                .map_err(|e| self.error(e))?;
            Ok(Lease::Held(text))
        })
    }

    fn renew<'a>(
        &'a self,
        subscription: &'a str,
        token: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let (lease, _) = self.keys(subscription);
            let mut connection = self.connection.clone();
            let done: i64 = redis::Script::new(RENEW)
                .key(&lease)
                .arg(token)
                .arg(millis(ttl))
                .invoke_async(&mut connection)
                .await
                .map_err(|e| self.error(e))?;
            Ok(done == 1)
        })
    }

    fn commit<'a>(
        &'a self,
        subscription: &'a str,
        token: &'a str,
        state: Option<&'a str>,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let (lease, key) = self.keys(subscription);
            let mut connection = self.connection.clone();
            let done: i64 = redis::Script::new(COMMIT)
                .key(&lease)
                .key(&key)
                .arg(token)
                .arg(if state.is_some() { "1" } else { "0" })
                .arg(state.unwrap_or(""))
                .invoke_async(&mut connection)
                .await
                .map_err(|e| self.error(e))?;
            Ok(done == 1)
        })
    }

    fn release<'a>(
        &'a self,
        subscription: &'a str,
        token: &'a str,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let (lease, _) = self.keys(subscription);
            let mut connection = self.connection.clone();
            let _: i64 = redis::Script::new(RELEASE)
                .key(&lease)
                .arg(token)
                .invoke_async(&mut connection)
                .await
                .map_err(|e| self.error(e))?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::split_prefix;

    #[test]
    fn key_prefix_is_taken_out_of_the_url() {
        assert_eq!(
            split_prefix("redis://127.0.0.1:6379/0?key_prefix=t1:"),
            ("redis://127.0.0.1:6379/0".into(), "t1:".into())
        );
        assert_eq!(
            split_prefix("redis://h/0"),
            ("redis://h/0".into(), "spec:trigger:".into())
        );
    }
}
