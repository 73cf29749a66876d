//! Scalability fits: Gunther's Universal Scalability Law ([`usl`]) fitted to the sweeps of a
//! results file ([`sweeps()`]), for the report's scaling charts and `segbench fit`.

pub mod sweeps;
pub mod usl;

pub use sweeps::{fit_rows, fits_table, sweeps, FitRow, Sweep, SweepPoint};
pub use usl::{fit, FitError, UslFit};

/// What the columns of [`fits_table`] mean, for the text and Markdown renderings.
pub const TABLE_NOTE: &str = "USL: X(N) = λN / (1 + σ(N − 1) + κN(N − 1)), least squares on the \
     medians; σ contention (< 0: superlinear), κ coherency (≥ 0), N* = √((1 − σ)/κ) where the fit \
     peaks, peak = X(N*). MB = 10^6 bytes.";
