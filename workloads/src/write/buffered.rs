//! `buffered` write engine (being written).

use super::{Caps, Completion, FileTarget, Submitted, WriteEngine};
use crate::{EngineError, EngineSpec, SyncKind};

/// The `buffered` engine.
#[derive(Debug)]
pub struct Buffered;

impl Buffered {
    /// Not yet available.
    pub fn new(spec: &EngineSpec, _max: usize) -> Result<Self, EngineError> {
        Err(EngineError::Unsupported { engine: spec.name.clone(), reason: "not built yet".into() })
    }
}

impl WriteEngine for Buffered {
    fn caps(&self) -> Caps { Caps::default() }
    fn open(&mut self, _t: &FileTarget<'_>) -> Result<(), EngineError> { Ok(()) }
    fn buffer(&mut self, _len: usize) -> Result<Option<&mut [u8]>, EngineError> { Ok(None) }
    fn submit(&mut self, _len: usize, _token: u64, _l: Option<SyncKind>) -> Result<Submitted, EngineError> { Ok(Submitted::Queued) }
    fn flush(&mut self, _s: SyncKind, _d: &mut Vec<Completion>) -> Result<(), EngineError> { Ok(()) }
    fn close(&mut self, _d: &mut Vec<Completion>) -> Result<(), EngineError> { Ok(()) }
}
