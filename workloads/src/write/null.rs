//! `null`: accepts appends and writes nothing (fio's `engines/null.c`). Used to measure the
//! runner's own overhead and to test the runner without hardware.

use super::{Caps, Completion, FileTarget, Submitted, WriteEngine};
use crate::{EngineError, EngineSpec, SyncKind};

/// The null engine: a reusable buffer, no file.
#[derive(Debug)]
pub struct Null {
    buf: Vec<u8>,
}

/// Checks a `null` spec: it takes no options.
pub fn check_spec(spec: &EngineSpec) -> Result<(), EngineError> {
    spec.check_options(&[])
}

impl Null {
    /// Builds it; it takes no options.
    pub fn new(spec: &EngineSpec, max_append_bytes: usize) -> Result<Self, EngineError> {
        check_spec(spec)?;
        Ok(Null {
            buf: vec![0; max_append_bytes.max(1)],
        })
    }
}

impl WriteEngine for Null {
    fn caps(&self) -> Caps {
        Caps::default()
    }

    fn open(&mut self, _target: &FileTarget<'_>) -> Result<(), EngineError> {
        Ok(())
    }

    fn buffer(&mut self, len: usize) -> Result<Option<&mut [u8]>, EngineError> {
        if len > self.buf.len() {
            self.buf.resize(len, 0);
        }
        Ok(Some(&mut self.buf[..len]))
    }

    fn submit(
        &mut self,
        _len: usize,
        _token: u64,
        _linked: Option<SyncKind>,
    ) -> Result<Submitted, EngineError> {
        // Nothing reaches a device.
        Ok(Submitted::Completed { device_bytes: 0 })
    }

    fn flush(&mut self, _sync: SyncKind, _done: &mut Vec<Completion>) -> Result<(), EngineError> {
        Ok(())
    }

    fn close(&mut self, _done: &mut Vec<Completion>) -> Result<(), EngineError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_null_engine_puts_nothing_on_a_device() {
        let spec: EngineSpec = "null".parse().unwrap();
        let mut e = Null::new(&spec, 4096).unwrap();
        assert_eq!(e.buffer(8192).unwrap().map(|b| b.len()), Some(8192));
        assert_eq!(
            e.submit(8192, 0, None).unwrap(),
            Submitted::Completed { device_bytes: 0 }
        );
    }
}
