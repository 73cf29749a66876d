//! Reading byte ranges of the leader's segment files with `pread`, each file opened once: what
//! a follower fetched, or what the end-to-end consumer reads below the high watermark.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use workloads::EngineError;

use super::isr::FetchRange;

/// The leader's segment files opened so far.
#[derive(Debug, Default)]
pub struct SegmentFiles {
    files: HashMap<PathBuf, File>,
}

impl SegmentFiles {
    /// Reads `range` into the front of `buf` (at least as long as the range) and returns
    /// that part.
    pub fn read<'b>(
        &mut self,
        range: &FetchRange,
        buf: &'b mut [u8],
    ) -> Result<&'b mut [u8], EngineError> {
        let file = match self.files.get(&range.path) {
            Some(f) => f,
            None => {
                let f = File::open(&range.path)
                    .map_err(|e| EngineError::io("open", &range.path, e, 0))?;
                self.files.entry(range.path.clone()).or_insert(f)
            }
        };
        let data = &mut buf[..(range.end - range.start) as usize];
        file.read_exact_at(data, range.start)
            .map_err(|e| EngineError::io("pread", &range.path, e, range.start))?;
        Ok(data)
    }
}
