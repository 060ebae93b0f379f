//! Stream end: the decision a stream that never got one is recorded with, the response summary,
//! and the audit record sealed into the VM's chain and published — exactly once.

use super::host::StreamHost;
use super::metrics;
use super::spend_gate;
use super::{Effect, Phase, Stream};
use crate::core::audit::Decision;
use crate::core::reason::Reason;
use crate::core::request;

impl Stream {
    /// Completes, seals and publishes the audit record and counts the request — once.
    pub(super) fn finalize(&mut self, host: &mut impl StreamHost, fx: &mut Vec<Effect>) {
        if matches!(self.phase, Phase::Idle | Phase::Ungoverned | Phase::Logged) {
            return;
        }
        let refusal = host.hold_refusal();
        fx.push(Effect::ForgetWatch);
        if let Some(r) = refusal {
            // The hold watch answered this stream (headers could not be held).
            request::record_rejection(&mut self.audit, &r);
            self.mark_decided();
            if matches!(self.phase, Phase::Forwarded) {
                self.phase = Phase::Replied;
            }
        }
        if self.undecided() {
            if Self::request_reached_upstream(host) {
                // Forwarded although no callback decided: never expected (see lost_control).
                self.lost_control(host, "stream end", fx);
            } else {
                // The stream ended before the filter saw the whole request: the client went
                // away, or Envoy itself refused it (e.g. its own buffer limit). Nothing was
                // forwarded.
                self.audit.decision = Decision::Reject;
                self.audit.reason(Reason::RequestIncomplete);
            }
        }
        self.finish_response(false, false, fx);
        let end = host.now_ns();
        if !self.reservations.is_empty() {
            // Every path ends here once (client abort, upstream reset, local reply): a
            // reservation is released exactly once and charged what the exchange used.
            let held = std::mem::take(&mut self.reservations);
            let reached = Self::request_reached_upstream(host);
            let policy = std::rc::Rc::clone(&self.policy);
            if policy.spend.remote().is_some() {
                if let Some(call) = spend_gate::settle_remote(&policy, held, reached, &mut self.audit) {
                    fx.push(Effect::StoreCommit(call));
                }
            } else {
                spend_gate::settle(&policy, held, reached, end / 1_000_000_000, host.counters(), &mut self.audit);
            }
        }
        if self.start_ns > 0 {
            self.audit.latency_ms = Some(end.saturating_sub(self.start_ns) / 1_000_000);
        }
        self.phase = Phase::Logged;
        self.publish_audit(fx);
        fx.extend(metrics::for_record(&self.audit).into_iter().map(Effect::Metric));
    }

    /// Seals the audit record into this VM's chain (records are sealed in the order they are
    /// logged: `on_log` runs before Envoy's access loggers, on every path including local replies).
    fn publish_audit(&mut self, fx: &mut Vec<Effect>) {
        self.audit.filter_us = self.busy_ns / 1000;
        let sealed = self.chain.try_borrow_mut().map(|mut c| {
            let line = c.seal_record(&self.audit);
            (line, c.chain_id().to_owned(), c.last_seq())
        });
        let line = match sealed {
            Ok((Ok(line), chain_id, seq)) => {
                // Checkpoint of the chain head outside the log file (docs/audit-chain.md).
                fx.push(Effect::Metric(metrics::gauge(metrics::CHAIN_LAST_SEQ, &[("chain", &chain_id)], seq)));
                line
            }
            _ => self.audit.to_json(), // unsealed beats missing; the verifier reports the gap
        };
        fx.push(Effect::Metric(metrics::count(metrics::AUDIT_RECORDS, &[], 1)));
        fx.push(Effect::PublishAudit(line));
    }
}
