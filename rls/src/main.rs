//! `openrouter-guard-rls`: the mesh-wide store of openrouter-guard's budgets (docs/spend.md,
//! "Mesh-wide store"). It speaks Envoy's rate-limit service API (RLS v3, `ShouldRateLimit`) and
//! keeps every counter in Redis, where reserve and commit run as Lua scripts: a reservation is admitted only if `used + live reservations + amount <= max`, in one
//! atomic step shared by every Envoy and every replica of this service.
//!
//! Usage: `openrouter-guard-rls --listen 127.0.0.1:8081 [--redis redis://127.0.0.1:6379/]
//! [--redis-timeout-ms 250] [--max-ttl-s 900]`. It prints `openrouter-guard-rls listening on
//! ADDR` once it serves.
//!
//! Storage: Redis with `--redis` (any number of replicas of the service share it; counters
//! survive a restart of the service), else this process's memory (one replica of the service is
//! then the one place every Envoy's counters live; they are lost when it restarts). A Redis that
//! does not answer within `--redis-timeout-ms` is a store failure (gRPC UNAVAILABLE): the filter
//! applies each limit's `on_store_error`.
//!
//! The request (what the filter sends; descriptors are documented in `protocol.rs`) carries
//! each limit's parameters, so the limits are defined once, in the filter's policy.

mod protocol;
mod redis_store;
mod service;

use std::net::SocketAddr;
use std::time::Duration;

use envoy_types::pb::envoy::service::ratelimit::v3::rate_limit_service_server::RateLimitServiceServer;

use crate::service::Limiter;

struct Args {
    listen: SocketAddr,
    redis: Option<String>,
    redis_timeout: Duration,
    max_ttl: Duration,
}

fn positive(flag: &str, v: &str) -> Result<u64, String> {
    match v.parse::<u64>() {
        Ok(0) => Err(format!("{flag} must be at least 1")),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{flag} {v}: {e}")),
    }
}

fn parse_args() -> Result<Args, String> {
    let mut listen: Option<SocketAddr> = None;
    let mut redis: Option<String> = None;
    let mut max_ttl = Duration::from_secs(900);
    let mut redis_timeout = Duration::from_millis(250);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let v = it.next().ok_or_else(|| format!("{a} needs a value"))?;
        match a.as_str() {
            "--listen" => listen = Some(v.parse().map_err(|e| format!("--listen {v}: {e}"))?),
            "--redis" => redis = Some(v),
            "--max-ttl-s" => max_ttl = Duration::from_secs(positive(&a, &v)?),
            "--redis-timeout-ms" => redis_timeout = Duration::from_millis(positive(&a, &v)?),
            _ => return Err(format!("unknown argument {a}")),
        }
    }
    Ok(Args { listen: listen.ok_or("--listen ADDR:PORT is required")?, redis, redis_timeout, max_ttl })
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("openrouter-guard-rls: {e}");
            std::process::exit(2);
        }
    };
    let limiter = match &args.redis {
        None => Limiter::memory(args.max_ttl),
        Some(url) => match Limiter::redis(url, args.redis_timeout).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("openrouter-guard-rls: redis {url}: {e}");
                std::process::exit(1);
            }
        },
    };
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("openrouter-guard-rls: listen {}: {e}", args.listen);
            std::process::exit(1);
        }
    };
    let addr = listener.local_addr().map_or_else(|_| args.listen.to_string(), |a| a.to_string());
    println!("openrouter-guard-rls listening on {addr}");
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    let server = tonic::transport::Server::builder()
        .add_service(RateLimitServiceServer::new(service::Rls::new(limiter, args.max_ttl)))
        .serve_with_incoming_shutdown(incoming, async {
            let _ = tokio::signal::ctrl_c().await;
        });
    if let Err(e) = server.await {
        eprintln!("openrouter-guard-rls: {e}");
        std::process::exit(1);
    }
}
