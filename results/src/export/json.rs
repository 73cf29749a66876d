//! The JSON exporter: the results file itself ([`crate::io::to_json`]). Writing and reading
//! results files is the bottom layer's [`crate::io`].

use super::{ExportError, Exporter};
use crate::schema::ResultsFile;

/// Pretty-printed JSON of the whole results file, ending with a newline ([`crate::io::to_json`]).
///
/// Refuses results that would not read back (a NaN or infinite figure), rather than writing a
/// results file that cannot be opened later.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonExporter;

impl Exporter for JsonExporter {
    fn export(&self, r: &ResultsFile) -> Result<Vec<u8>, ExportError> {
        crate::io::to_json(r)
    }
}
