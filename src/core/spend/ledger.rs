//! Counters in a compare-and-swap store shared by every worker of one Envoy (proxy-wasm shared
//! data; a mock in tests). One key per limit and limit key holds `og1 <window> <used> <reserved>`:
//! the window's start, the amount charged in it, and the amount reserved by requests still in
//! flight (reservations survive a window change: they are released by the requests that made
//! them).
//!
//! **Creation.** The host's `set` with a CAS value succeeds unconditionally on a key that does not
//! exist (proxy-wasm-cpp-host `SharedData::set`): two workers that both find a key missing could
//! both "create" it, the second wiping what the first wrote. So a missing key is only ever created
//! with the zero record and the [`CREATE_CAS`] sentinel, then read back and updated by CAS like any
//! other: a racing second creation either fails (the key exists with another CAS value) or wipes a
//! zero record with a zero record. The one hole: the key's current CAS value equals the sentinel.
//! The host's CAS counter is process-wide and wraps after 2^32 writes; the key would have to have
//! been written at exactly that count, inside the microseconds of a racing creation.

use crate::core::reason::Reason;
use std::fmt;

/// A store call that failed (the host's status, or a record that does not parse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreError {
    /// The host refused a call.
    Host(u32),
    /// The stored value is not a counter record.
    BadData,
    /// Every CAS attempt lost a race.
    Contended,
}

impl StoreError {
    /// The reason code (audit record, metrics).
    pub(crate) fn reason(self) -> Reason {
        match self {
            StoreError::Host(_) => Reason::LimitStoreFailed,
            StoreError::BadData => Reason::LimitStoreBadData,
            StoreError::Contended => Reason::LimitStoreContended,
        }
    }
}

/// Why a conditional write did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetError {
    /// The key changed since it was read.
    CasMismatch,
    /// The host refused the call.
    Host(u32),
}

/// A compare-and-swap key-value store.
pub trait CounterStore {
    /// The value of `key` and its CAS value; `None` when the key does not exist.
    fn get(&mut self, key: &str) -> Result<Option<(Vec<u8>, u32)>, StoreError>;
    /// Writes `value` if the key's CAS value is still `cas` (or the key does not exist).
    fn set(&mut self, key: &str, value: &[u8], cas: u32) -> Result<(), SetError>;
}

/// CAS value used to create a key (see the module docs).
pub(crate) const CREATE_CAS: u32 = u32::MAX;

/// Attempts per update before the store counts as failed (each attempt is one get and one set;
/// a loss means another worker's update landed in between, so progress is global).
pub(crate) const MAX_ATTEMPTS: u32 = 64;

/// One counter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counter {
    /// Start of the window `used` belongs to.
    pub(crate) window: u64,
    /// Charged in that window.
    pub(crate) used: u64,
    /// Reserved by requests in flight.
    pub(crate) reserved: u64,
}

impl fmt::Display for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "og1 {} {} {}", self.window, self.used, self.reserved)
    }
}

impl Counter {
    /// Parses a stored record; anything else is [`StoreError::BadData`].
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, StoreError> {
        let text = std::str::from_utf8(bytes).map_err(|_| StoreError::BadData)?;
        let mut it = text.split(' ');
        if it.next() != Some("og1") {
            return Err(StoreError::BadData);
        }
        let mut field = || -> Result<u64, StoreError> {
            let p = it.next().ok_or(StoreError::BadData)?;
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(StoreError::BadData);
            }
            p.parse().map_err(|_| StoreError::BadData)
        };
        let c = Counter { window: field()?, used: field()?, reserved: field()? };
        if it.next().is_some() {
            return Err(StoreError::BadData);
        }
        Ok(c)
    }

    /// The counter as seen in window `window`: `used` restarts at 0 in a newer window.
    pub(crate) fn in_window(self, window: u64) -> Self {
        if window > self.window {
            Counter { window, used: 0, reserved: self.reserved }
        } else {
            self
        }
    }
}

/// What an update did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Updated {
    /// Written: the new counter.
    Written(Counter),
    /// `change` declined to write: the counter as read.
    Declined(Counter),
}

/// Reads the counter at `key` (zero when absent), lets `change` compute the new one (or decline),
/// and writes it by compare-and-swap, retrying lost races up to [`MAX_ATTEMPTS`] times.
pub(crate) fn update(
    store: &mut dyn CounterStore,
    key: &str,
    mut change: impl FnMut(Counter) -> Option<Counter>,
) -> Result<Updated, StoreError> {
    for _ in 0..MAX_ATTEMPTS {
        let Some((bytes, cas)) = store.get(key)? else {
            match store.set(key, Counter::default().to_string().as_bytes(), CREATE_CAS) {
                Ok(()) | Err(SetError::CasMismatch) => continue,
                Err(SetError::Host(s)) => return Err(StoreError::Host(s)),
            }
        };
        let current = Counter::parse(&bytes)?;
        let Some(next) = change(current) else { return Ok(Updated::Declined(current)) };
        match store.set(key, next.to_string().as_bytes(), cas) {
            Ok(()) => return Ok(Updated::Written(next)),
            Err(SetError::CasMismatch) => continue,
            Err(SetError::Host(s)) => return Err(StoreError::Host(s)),
        }
    }
    Err(StoreError::Contended)
}

#[cfg(test)]
pub(crate) mod mock;

#[cfg(test)]
mod tests {
    use super::mock::MockStore;
    use super::*;

    #[test]
    fn records_round_trip_and_anything_else_is_bad_data() {
        let c = Counter { window: 60, used: 7, reserved: 3 };
        assert_eq!(c.to_string(), "og1 60 7 3");
        assert_eq!(Counter::parse(b"og1 60 7 3"), Ok(c));
        for bad in [&b"og1 60 7"[..], b"og2 60 7 3", b"og1 60 7 3 1", b"og1 -1 7 3", b"og1 60  7 3", b"\xff", b""] {
            assert_eq!(Counter::parse(bad), Err(StoreError::BadData), "{bad:?}");
        }
    }

    #[test]
    fn a_newer_window_restarts_used_and_keeps_reservations() {
        let c = Counter { window: 60, used: 7, reserved: 3 };
        assert_eq!(c.in_window(120), Counter { window: 120, used: 0, reserved: 3 });
        assert_eq!(c.in_window(60), c);
        assert_eq!(c.in_window(0), c);
    }

    #[test]
    fn a_missing_key_is_created_with_the_zero_record_then_updated_by_cas() {
        let mut s = MockStore::default();
        let out = update(&mut s, "k", |c| Some(Counter { reserved: c.reserved + 5, ..c })).unwrap();
        assert_eq!(out, Updated::Written(Counter { window: 0, used: 0, reserved: 5 }));
        assert_eq!(s.value("k"), Some("og1 0 0 5".into()));
        assert_eq!(s.sets_with_cas(CREATE_CAS), 1);
    }

    #[test]
    fn a_racing_writer_between_get_and_set_makes_the_update_retry_on_the_new_value() {
        let mut s = MockStore::default();
        s.put("k", "og1 0 0 10");
        // Another worker adds 1 to `reserved` after each of our first three reads.
        s.interfere(3, |v| {
            let c = Counter::parse(v.as_bytes()).unwrap();
            Counter { reserved: c.reserved + 1, ..c }.to_string()
        });
        let out = update(&mut s, "k", |c| Some(Counter { reserved: c.reserved + 100, ..c })).unwrap();
        assert_eq!(out, Updated::Written(Counter { window: 0, used: 0, reserved: 113 }));
        assert_eq!(s.cas_mismatches(), 3);
    }

    #[test]
    fn a_racing_creation_never_wipes_an_update() {
        // Both workers find the key missing; A creates it and reserves; B's creation then fails
        // with a CAS mismatch (the key exists), B reads A's record and adds its own reservation.
        let mut s = MockStore::default();
        s.hide_next_get("k"); // B's first read happens before A's creation
        s.interfere_on_create(|store| {
            // A's whole update runs between B's read and B's creation attempt.
            update(store, "k", |c| Some(Counter { reserved: c.reserved + 7, ..c })).unwrap();
        });
        update(&mut s, "k", |c| Some(Counter { reserved: c.reserved + 5, ..c })).unwrap();
        assert_eq!(s.value("k"), Some("og1 0 0 12".into()));
    }

    #[test]
    fn endless_contention_bad_data_and_host_failures_are_errors() {
        let mut s = MockStore::default();
        s.put("k", "og1 0 0 0");
        s.interfere(u32::MAX, |v| v.to_string());
        assert_eq!(update(&mut s, "k", Some), Err(StoreError::Contended));
        let mut s = MockStore::default();
        s.put("k", "garbage");
        assert_eq!(update(&mut s, "k", Some), Err(StoreError::BadData));
        let mut s = MockStore::default();
        s.fail_all(2);
        assert_eq!(update(&mut s, "k", Some), Err(StoreError::Host(2)));
    }

    #[test]
    fn a_declined_change_writes_nothing() {
        let mut s = MockStore::default();
        s.put("k", "og1 0 9 1");
        assert_eq!(update(&mut s, "k", |_| None), Ok(Updated::Declined(Counter { window: 0, used: 9, reserved: 1 })));
        assert_eq!(s.value("k"), Some("og1 0 9 1".into()));
    }
}
