//! The counter store of budgets and rate limits (core/spend/ledger.rs) on proxy-wasm shared data:
//! one map per `vm_id`, shared by every worker's VM of one Envoy, kept until Envoy restarts.

use crate::core::spend::{CounterStore, SetError, StoreError};
use crate::wasm::abi::{self, CAS_MISMATCH};

/// Shared data as a [`CounterStore`].
pub(crate) struct SharedStore;

impl CounterStore for SharedStore {
    fn get(&mut self, key: &str) -> Result<Option<(Vec<u8>, u32)>, StoreError> {
        abi::get_shared_data(key).map_err(|e| StoreError::Host(e.0))
    }

    fn set(&mut self, key: &str, value: &[u8], cas: u32) -> Result<(), SetError> {
        abi::set_shared_data(key, value, cas).map_err(|e| {
            if e.0 == CAS_MISMATCH {
                SetError::CasMismatch
            } else {
                SetError::Host(e.0)
            }
        })
    }
}
