//! Detectors for the built-in entities. Each is called by the engine's single pass at a cheap
//! anchor (an `@`, the first digit of a run, a `:` between hex digits, the end of a long token)
//! and looks only at a bounded window around it.

pub(crate) mod address;
pub(crate) mod card;
pub(crate) mod cluster;
pub(crate) mod email;
pub(crate) mod iban;
pub(crate) mod ip;
pub(crate) mod numeric;
pub(crate) mod person;
pub(crate) mod phone;
mod phone_plan;
#[cfg(test)]
mod phone_plan_tests;
pub(crate) mod phone_plan_types;
pub(crate) mod phone_spoken;
pub(crate) mod secrets;
pub(crate) mod ssn;
pub(crate) mod table;
mod table_fixed;
mod table_markup;

use super::entity::{Entity, ENTITY_COUNT};

/// What a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A built-in entity.
    Builtin(Entity),
    /// Custom pattern number `n` of the profile.
    Custom(u16),
    /// Dictionary number `n` of the profile.
    Dict(u16),
}

/// A detected span of the detection view; carries no text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Finding {
    /// Start byte (inclusive).
    pub start: usize,
    /// End byte (exclusive).
    pub end: usize,
    /// Entity type.
    pub kind: Kind,
}

/// The set of enabled built-in entities, as a bit mask.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Enabled(u32);

impl Enabled {
    /// Builds the mask from per-entity switches.
    pub(crate) fn from_flags(flags: &[bool; ENTITY_COUNT]) -> Self {
        let mut m = 0u32;
        for (i, on) in flags.iter().enumerate() {
            if *on {
                m |= 1 << i;
            }
        }
        Self(m)
    }

    /// Whether `e` is enabled.
    #[inline]
    pub(crate) fn has(self, e: Entity) -> bool {
        self.0 & (1 << e.index()) != 0
    }

    /// The same mask with `e` switched off.
    pub(crate) fn without(self, e: Entity) -> Self {
        Self(self.0 & !(1 << e.index()))
    }

    /// Whether any of `es` is enabled.
    pub(crate) fn any(self, es: &[Entity]) -> bool {
        es.iter().any(|e| self.has(*e))
    }

    /// Whether any secret entity is enabled.
    pub(crate) fn any_secret(self) -> bool {
        Entity::ALL.iter().any(|e| e.is_secret() && self.has(*e))
    }
}

/// Where detectors put findings.
#[derive(Debug)]
pub(crate) struct Sink {
    /// Enabled built-in entities.
    pub on: Enabled,
    /// Findings so far, in no particular order.
    pub out: Vec<Finding>,
    /// Set when a candidate was turned down only because of what lies within a byte window around
    /// it: no context word before a bare 9- to 11-digit number or an AWS-secret-shaped token, a
    /// version word before a dotted quad, a `-----BEGIN` header not closed within 80 bytes. A
    /// placeholder elsewhere in the text, shorter or longer than its value, can change that: the
    /// redactor then scans its output again (fuzz findings F8, F9).
    pub(crate) near_miss: bool,
    /// Set when a digit cluster of at least seven digits that could be a whole table cell
    /// ([`table::whole_cell`]) was left without a finding: the column pass ([`table`]) then looks
    /// for a table whose header names the column.
    pub(crate) digits_left: bool,
    /// Set when a dotted quad or a phone number that could be a whole table cell was reported:
    /// the column pass then checks whether its column's header names a version (`app_version`:
    /// no IPv4 address) or an identifier (`tracking_number`, `isbn`, `created_at`: no phone).
    pub(crate) quads: bool,
}

#[cfg(test)]
impl Sink {
    /// An empty sink with every entity enabled (detector tests).
    pub(crate) fn all_on() -> Self {
        Sink {
            on: Enabled::from_flags(&[true; crate::core::pii::entity::ENTITY_COUNT]),
            out: Vec::new(),
            near_miss: false,
            digits_left: false,
            quads: false,
        }
    }

    /// The texts one detector's `scan` finds in `t`, every entity enabled (detector tests).
    pub(crate) fn texts(t: &str, scan: fn(&[u8], &mut Sink)) -> Vec<&str> {
        let mut sink = Sink::all_on();
        scan(t.as_bytes(), &mut sink);
        sink.out.iter().map(|f| &t[f.start..f.end]).collect()
    }
}

impl Sink {
    /// Records a built-in finding if the entity is enabled.
    #[inline]
    pub(crate) fn push(&mut self, start: usize, end: usize, e: Entity) {
        if self.on.has(e) && end > start {
            self.out.push(Finding { start, end, kind: Kind::Builtin(e) });
        }
    }
}
