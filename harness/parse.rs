//! The value parsers of the command line (clap `value_parser`s): sizes, durations, rates.
//! They wrap the parsers suite files use (`workloads::units`), so a bad value gets one line
//! naming it and the expected form, on the command line as in a suite.

use std::time::Duration;

/// Parses a size for clap.
pub fn size(s: &str) -> Result<u64, String> {
    workloads::units::parse_size(s).map_err(|e| e.0)
}
/// Parses a duration for clap.
pub fn duration(s: &str) -> Result<Duration, String> {
    workloads::units::parse_duration(s).map_err(|e| e.0)
}
/// Parses a duration that may be zero (`0` disables), for clap.
pub fn duration_or_zero(s: &str) -> Result<Duration, String> {
    if s.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    duration(s)
}
/// Parses a rate for clap.
pub fn rate(s: &str) -> Result<f64, String> {
    workloads::units::parse_rate(s).map_err(|e| e.0)
}
