//! The RLS v3 service: each descriptor (protocol.rs) is a reserve or a commit on one counter,
//! kept in Redis (redis_store.rs: two Lua scripts) or in this process (a `limitador` rate
//! limiter).
//!
//! In memory, each limit of a request becomes one limitador limit: namespace
//! `<domain>/<limit>/<window>/<max>` (one limit per namespace, so a changed `max` is a new limit
//! and never a second one applying beside the old), id `<domain>/<limit>/<window>` (the counter
//! is keyed by the id and the `key` variable: a changed `max` keeps the counter), one variable
//! `key`. Reserve and commit are limitador's `reserve` / `commit_reservation`. In Redis the
//! counter is named by the same parts (domain, limit, window, key) and `max` travels with each
//! call.

use std::collections::HashMap;
use std::time::Duration;

use envoy_types::pb::envoy::config::core::v3::HeaderValue;
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_response::{Code, DescriptorStatus};
use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_service_server::RateLimitService;
use envoy_types::pb::envoy::service::ratelimit::v3::{RateLimitRequest, RateLimitResponse};
use envoy_types::pb::google::protobuf::Duration as PbDuration;
use limitador::limit::{Context, Expression, Limit, Namespace};
use limitador::reservation::{ReservationId, ReservationLimits};
use limitador::{RateLimiter, RateLimiterBuilder};
use tokio::sync::Mutex;
use tonic::{Request, Response, Status};

use crate::protocol::Op;
use crate::redis_store::RedisStore;

/// Where the counters live.
pub(crate) enum Limiter {
    /// In this process, with limitador. limitador's in-memory reserve reads the counters and then
    /// holds, so the calls are serialised here (one lock; microseconds each) to keep
    /// check-and-hold atomic.
    Memory(Mutex<RateLimiter>),
    /// In Redis: reserve and commit are Lua scripts, atomic in Redis across every replica
    /// (redis_store.rs).
    Redis(RedisStore),
}

/// A reserve's answer.
pub(crate) struct Reserved {
    /// Over the limit: nothing held.
    pub(crate) limited: bool,
    /// The reservation's id, when something is held.
    pub(crate) id: Option<String>,
    /// Time until the counter's window ends.
    pub(crate) reset: Option<Duration>,
}

impl Limiter {
    pub(crate) fn memory(max_ttl: Duration) -> Self {
        Limiter::Memory(Mutex::new(
            RateLimiterBuilder::new(10_000)
                .reservation_limits(ReservationLimits { max_fraction: 1.0, max_ttl })
                .build(),
        ))
    }

    pub(crate) async fn redis(url: &str, timeout: Duration) -> Result<Self, String> {
        Ok(Limiter::Redis(RedisStore::connect(url, timeout).await?))
    }
}

pub(crate) struct Rls {
    limiter: Limiter,
    /// Longest life of a reservation (`--max-ttl-s`): a request's `ttl` is clamped to it.
    max_ttl: Duration,
}

impl Rls {
    pub(crate) fn new(limiter: Limiter, max_ttl: Duration) -> Self {
        Self { limiter, max_ttl }
    }

    /// The limitador namespace of `op` (in-memory limiter), its limit registered.
    fn namespace(limiter: &mut RateLimiter, domain: &str, op: &Op) -> Result<Namespace, Status> {
        let ns = format!("{domain}/{}/{}/{}", op.limit, op.window_s, op.max);
        let var = Expression::parse("key").map_err(|e| Status::internal(e.to_string()))?;
        let id = format!("{domain}/{}/{}", op.limit, op.window_s);
        // Idempotent: a limit equal in namespace, window and variables is kept as it is.
        limiter.add_limit(Limit::with_id(id, ns.as_str(), op.max, op.window_s, [], [var]));
        Ok(Namespace::from(ns))
    }

    async fn reserve(&self, domain: &str, op: &Op) -> Result<Reserved, Status> {
        let ttl = op.ttl.unwrap_or(self.max_ttl).min(self.max_ttl);
        match &self.limiter {
            Limiter::Memory(m) => {
                let mut m = m.lock().await;
                let ns = Self::namespace(&mut m, domain, op)?;
                let r = m.reserve(&ns, &context(op), op.amount, Some(ttl)).map_err(store_error)?;
                Ok(Reserved {
                    limited: r.limited,
                    id: r.reservation_id.map(|id| id.to_string()),
                    reset: r.counters.iter().filter_map(|c| c.expires_in()).max(),
                })
            }
            Limiter::Redis(r) => r.reserve(domain, op, ttl).await.map_err(store_error),
        }
    }

    async fn commit(&self, domain: &str, op: &Op) -> Result<(), Status> {
        match &self.limiter {
            Limiter::Memory(m) => {
                let mut m = m.lock().await;
                let ns = Self::namespace(&mut m, domain, op)?;
                let id = op.id.clone().map(ReservationId::from);
                m.commit_reservation(&ns, &context(op), id.as_ref(), op.amount).map(|_| ()).map_err(store_error)
            }
            Limiter::Redis(r) => r.commit(domain, op).await.map_err(store_error),
        }
    }
}

fn context(op: &Op) -> Context<'static> {
    Context::from(HashMap::from([("key".to_string(), op.key.clone())]))
}

fn store_error(e: impl std::fmt::Display) -> Status {
    Status::unavailable(format!("limit store: {e}"))
}

#[tonic::async_trait]
impl RateLimitService for Rls {
    async fn should_rate_limit(
        &self,
        request: Request<RateLimitRequest>,
    ) -> Result<Response<RateLimitResponse>, Status> {
        let req = request.into_inner();
        if req.domain.is_empty() {
            return Err(Status::invalid_argument("domain is empty"));
        }
        let ops = req
            .descriptors
            .iter()
            .enumerate()
            .map(|(i, d)| {
                Op::parse(d, req.hits_addend).map_err(|e| Status::invalid_argument(format!("descriptor {i}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = RateLimitResponse { overall_code: Code::Ok as i32, ..Default::default() };
        for (i, op) in ops.iter().enumerate() {
            let mut status = DescriptorStatus { code: Code::Ok as i32, ..Default::default() };
            if op.commit {
                self.commit(&req.domain, op).await?;
            } else {
                let r = self.reserve(&req.domain, op).await?;
                status.duration_until_reset = r.reset.map(|d| PbDuration {
                    seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                    nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
                });
                if r.limited {
                    status.code = Code::OverLimit as i32;
                    out.overall_code = Code::OverLimit as i32;
                } else if let Some(id) = r.id {
                    out.response_headers_to_add.push(HeaderValue {
                        key: format!("og-reservation-{i}"),
                        value: id,
                        ..Default::default()
                    });
                }
            }
            out.statuses.push(status);
        }
        Ok(Response::new(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use envoy_types::pb::envoy::extensions::common::ratelimit::v3::rate_limit_descriptor::Entry;
    use envoy_types::pb::envoy::extensions::common::ratelimit::v3::RateLimitDescriptor;
    use envoy_types::pb::google::protobuf::UInt64Value;
    use std::sync::Arc;

    fn rls() -> Arc<Rls> {
        Arc::new(Rls::new(Limiter::memory(Duration::from_secs(60)), Duration::from_secs(60)))
    }

    fn desc(op: &str, key: &str, max: u64, amount: u64, id: Option<&str>) -> RateLimitDescriptor {
        let mut entries: Vec<Entry> = [("op", op), ("limit", "usd"), ("key", key), ("window", "60")]
            .iter()
            .map(|(k, v)| Entry { key: (*k).into(), value: (*v).into() })
            .collect();
        entries.push(Entry { key: "max".into(), value: max.to_string() });
        if let Some(id) = id {
            entries.push(Entry { key: "id".into(), value: id.into() });
        }
        RateLimitDescriptor { entries, hits_addend: Some(UInt64Value { value: amount }), ..Default::default() }
    }

    async fn call(rls: &Rls, descriptors: Vec<RateLimitDescriptor>) -> RateLimitResponse {
        let req = RateLimitRequest { domain: "test".into(), descriptors, hits_addend: 0 };
        rls.should_rate_limit(Request::new(req)).await.unwrap().into_inner()
    }

    fn id(r: &RateLimitResponse) -> String {
        r.response_headers_to_add.iter().find(|h| h.key == "og-reservation-0").unwrap().value.clone()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_burst_admits_exactly_what_fits() {
        let rls = rls();
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let rls = Arc::clone(&rls);
                tokio::spawn(async move { call(&rls, vec![desc("reserve", "k", 1_000_000, 100_000, None)]).await })
            })
            .collect();
        let mut admitted = 0;
        for t in tasks {
            let r = t.await.unwrap();
            if r.overall_code == Code::Ok as i32 {
                admitted += 1;
                assert!(!id(&r).is_empty());
            } else {
                assert_eq!(r.statuses[0].code, Code::OverLimit as i32);
            }
        }
        assert_eq!(admitted, 10);
        // Another key has its own counter.
        assert_eq!(
            call(&rls, vec![desc("reserve", "other", 1_000_000, 100_000, None)]).await.overall_code,
            Code::Ok as i32
        );
    }

    #[tokio::test]
    async fn a_commit_charges_the_actual_amount_and_releases_the_hold() {
        let rls = rls();
        let r = call(&rls, vec![desc("reserve", "k", 10, 5, None)]).await;
        assert_eq!(r.overall_code, Code::Ok as i32);
        // 5 held: 6 more do not fit.
        assert_eq!(call(&rls, vec![desc("reserve", "k", 10, 6, None)]).await.overall_code, Code::OverLimit as i32);
        let id = id(&r);
        call(&rls, vec![desc("commit", "k", 10, 2, Some(&id))]).await;
        // 2 used, nothing held: 8 fit, then nothing.
        let r = call(&rls, vec![desc("reserve", "k", 10, 8, None)]).await;
        assert_eq!(r.overall_code, Code::Ok as i32);
        assert_eq!(call(&rls, vec![desc("reserve", "k", 10, 1, None)]).await.overall_code, Code::OverLimit as i32);
        // A release (commit 0) gives the 8 back.
        call(&rls, vec![desc("commit", "k", 10, 0, Some(&super::tests::id(&r)))]).await;
        assert_eq!(call(&rls, vec![desc("reserve", "k", 10, 8, None)]).await.overall_code, Code::Ok as i32);
    }

    #[tokio::test]
    async fn descriptors_are_independent_and_malformed_ones_are_refused() {
        let rls = rls();
        let r = call(&rls, vec![desc("reserve", "a", 10, 11, None), desc("reserve", "b", 10, 3, None)]).await;
        assert_eq!(r.overall_code, Code::OverLimit as i32);
        assert_eq!(r.statuses.iter().map(|s| s.code).collect::<Vec<_>>(), [Code::OverLimit as i32, Code::Ok as i32]);
        assert!(r.response_headers_to_add.iter().any(|h| h.key == "og-reservation-1"));
        let mut bad = desc("reserve", "a", 10, 1, None);
        bad.entries.retain(|e| e.key != "window");
        let req = RateLimitRequest { domain: "test".into(), descriptors: vec![bad], hits_addend: 0 };
        assert_eq!(rls.should_rate_limit(Request::new(req)).await.unwrap_err().code(), tonic::Code::InvalidArgument);
    }
}
