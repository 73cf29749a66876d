//! The interference part of the terminal and Markdown reports: one verdict line per part of a
//! mixed workload measured with the others and alone (see [`crate::interference`]).

use crate::interference::{interferences, verdict};
use crate::schema::ResultsFile;

/// The verdict lines, one per paired part, prefixed with the mixed workload and followed by
/// the placement of a snapshot or checkpoint part.
pub fn lines(file: &ResultsFile) -> Vec<String> {
    interferences(&file.workloads)
        .into_iter()
        .map(|i| {
            let place = i
                .placement
                .as_ref()
                .map(|p| format!(" [{} files: {p}]", i.part))
                .unwrap_or_default();
            format!("{}: {}{place}", i.workload, verdict(i))
        })
        .collect()
}

/// The [`lines`] under "interference (alone → with the others):", or nothing without a mixed
/// workload.
pub fn text(file: &ResultsFile) -> String {
    let lines = lines(file);
    if lines.is_empty() {
        return String::new();
    }
    let mut s = String::from("\ninterference (alone → with the others):\n");
    for l in lines {
        s.push_str(&format!("  {l}\n"));
    }
    s
}
