//! The digit-run dispatcher: parses one [`Cluster`] at the first digit of a run and hands it to the
//! IPv4, card, SSN and phone rules, which pick sub-ranges of its groups.

use super::cluster::{Cluster, MAX_GROUPS};
use super::{card, ip, phone, phone_spoken, ssn, table, Sink};
use crate::core::pii::entity::Entity;
use crate::core::pii::text::{at, is_digit};

/// Parses the cluster at `start`, records IPv4/card/SSN/phone findings, and returns the offset
/// past the cluster (the engine does not re-enter it).
pub(crate) fn scan(b: &[u8], start: usize, sink: &mut Sink) -> usize {
    let c = Cluster::parse(b, start);
    let on = sink.on;
    // One group, then `, ` and a digit: maybe a number read out group by group.
    let e = c.end();
    if c.n == 1 && on.has(Entity::Phone) && at(b, e) == b',' && at(b, e + 1) == b' ' && is_digit(at(b, e + 2)) {
        if let Some((s, end)) = phone_spoken::at_run(b, start) {
            sink.push(s, end, Entity::Phone);
            return end;
        }
    }
    let mut s = 0;
    while s < c.n {
        let hit = None
            .or_else(|| on.has(Entity::IpAddress).then(|| ip::v4_at(&c, s)).flatten().map(|h| (h, Entity::IpAddress)))
            .or_else(|| on.has(Entity::CreditCard).then(|| card::at(&c, s)).flatten().map(|h| (h, Entity::CreditCard)))
            .or_else(|| on.has(Entity::UsSsn).then(|| ssn::at(&c, s)).flatten().map(|h| (h, Entity::UsSsn)));
        if hit.is_none() && c.left_ok(s) {
            // A card-shaped number that failed Luhn/IIN is not re-read as a phone number.
            if let Some(e) = card::shaped_end(&c, s) {
                s = e;
                continue;
            }
        }
        let hit = hit.or_else(|| on.has(Entity::Phone).then(|| phone::at(&c, s)).flatten().map(|h| (h, Entity::Phone)));
        match hit {
            Some((h, e)) => {
                sink.quads |= matches!(e, Entity::IpAddress | Entity::Phone)
                    && !sink.quads
                    && table::whole_cell(b, h.start, h.end);
                sink.push(h.start, h.end, e);
                s = h.next.max(s + 1);
            }
            None => {
                // A bare 9- to 11-digit number is an SSN or a phone number only after a context word;
                // a dotted quad is no IP address after a version word.
                if (9..=11).contains(&c.len(s)) || (on.has(Entity::IpAddress) && ip::v4_version_near_miss(&c, s)) {
                    sink.near_miss = true;
                }
                if !sink.digits_left
                    && (s..c.n).map(|k| c.len(k)).sum::<usize>() >= 7
                    && table::whole_cell(b, c.group(0).s, c.end())
                {
                    sink.digits_left = true;
                }
                s += 1;
            }
        }
    }
    // A full cluster was cut at MAX_GROUPS: resume a few groups back, so a value straddling the
    // cut (a card or SSN after a long run of short digit groups, fuzz finding F3) is parsed whole
    // by the next cluster. Findings seen twice are folded by the redactor's overlap merge.
    if c.n >= MAX_GROUPS {
        return c.group(MAX_GROUPS - RESCAN_GROUPS).s;
    }
    c.end()
}

/// Groups re-read after a cut: more than any single value spans (an Amex card in 5 groups, a
/// phone with country code in 5).
const RESCAN_GROUPS: usize = 8;
