//! Per-call memory limit that remembers whether the guest hit it.

use wasmtime::ResourceLimiter;

/// Caps linear memory and tables; records an attempt to exceed the cap so an
/// out-of-memory abort can be told apart from other traps.
#[derive(Debug)]
pub(crate) struct Limiter {
    max_memory: usize,
    max_table_elements: usize,
    /// Set when the guest asked for more memory than allowed.
    pub hit: bool,
}

impl Limiter {
    pub fn new(max_memory: u64) -> Self {
        Self {
            max_memory: usize::try_from(max_memory).unwrap_or(usize::MAX),
            max_table_elements: 100_000,
            hit: false,
        }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_table_elements {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        16
    }

    fn memories(&self) -> usize {
        4
    }

    fn tables(&self) -> usize {
        16
    }
}
