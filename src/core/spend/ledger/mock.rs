//! An in-memory [`CounterStore`] with the host's CAS semantics (proxy-wasm-cpp-host
//! `SharedData`: one process-wide CAS counter; `set` with CAS 0 or on a missing key always
//! writes) and hooks that interleave another worker's writes between a read and a write.

use std::collections::{BTreeMap, BTreeSet};

use super::{CounterStore, SetError, StoreError, CREATE_CAS};

type Interfere = Box<dyn FnMut(&str) -> String>;
type OnCreate = Box<dyn FnOnce(&mut MockStore)>;

/// The mock store.
#[derive(Default)]
pub(crate) struct MockStore {
    data: BTreeMap<String, (String, u32)>,
    next_cas: u32,
    interfere_left: u32,
    interfere: Option<Interfere>,
    on_create: Option<OnCreate>,
    hidden: BTreeSet<String>,
    fail: Option<u32>,
    mismatches: u32,
    sets_by_cas: BTreeMap<u32, u32>,
}

impl MockStore {
    fn bump(&mut self) -> u32 {
        self.next_cas = self.next_cas.wrapping_add(1).max(1);
        self.next_cas
    }

    /// Stores `value` at `key` unconditionally.
    pub(crate) fn put(&mut self, key: &str, value: &str) {
        let cas = self.bump();
        self.data.insert(key.to_string(), (value.to_string(), cas));
    }

    /// The value at `key`.
    pub(crate) fn value(&self, key: &str) -> Option<String> {
        self.data.get(key).map(|(v, _)| v.clone())
    }

    /// Every key.
    pub(crate) fn keys(&self) -> Vec<String> {
        self.data.keys().cloned().collect()
    }

    /// After each of the next `n` reads that find a value, rewrites it with `f` (another worker's
    /// write landing between the read and the caller's write).
    pub(crate) fn interfere(&mut self, n: u32, f: impl FnMut(&str) -> String + 'static) {
        self.interfere_left = n;
        self.interfere = Some(Box::new(f));
    }

    /// Runs `f` (another worker) right before the next creation attempt.
    pub(crate) fn interfere_on_create(&mut self, f: impl FnOnce(&mut MockStore) + 'static) {
        self.on_create = Some(Box::new(f));
    }

    /// The next read of `key` finds nothing.
    pub(crate) fn hide_next_get(&mut self, key: &str) {
        self.hidden.insert(key.to_string());
    }

    /// Every call fails with host status `status`.
    pub(crate) fn fail_all(&mut self, status: u32) {
        self.fail = Some(status);
    }

    /// Writes refused with a CAS mismatch so far.
    pub(crate) fn cas_mismatches(&self) -> u32 {
        self.mismatches
    }

    /// Writes attempted with CAS value `cas`.
    pub(crate) fn sets_with_cas(&self, cas: u32) -> u32 {
        self.sets_by_cas.get(&cas).copied().unwrap_or(0)
    }
}

impl CounterStore for MockStore {
    fn get(&mut self, key: &str) -> Result<Option<(Vec<u8>, u32)>, StoreError> {
        if let Some(s) = self.fail {
            return Err(StoreError::Host(s));
        }
        if self.hidden.remove(key) {
            return Ok(None);
        }
        let Some((v, cas)) = self.data.get(key).cloned() else { return Ok(None) };
        if self.interfere_left > 0 {
            self.interfere_left -= 1;
            if let Some(f) = self.interfere.as_mut() {
                let nv = f(&v);
                self.put(key, &nv);
            }
        }
        Ok(Some((v.into_bytes(), cas)))
    }

    fn set(&mut self, key: &str, value: &[u8], cas: u32) -> Result<(), SetError> {
        if let Some(s) = self.fail {
            return Err(SetError::Host(s));
        }
        *self.sets_by_cas.entry(cas).or_default() += 1;
        if cas == CREATE_CAS {
            if let Some(f) = self.on_create.take() {
                f(self);
            }
        }
        if let Some((_, current)) = self.data.get(key) {
            if cas != 0 && cas != *current {
                self.mismatches += 1;
                return Err(SetError::CasMismatch);
            }
        }
        let v = String::from_utf8(value.to_vec()).unwrap_or_default();
        self.put(key, &v);
        Ok(())
    }
}
