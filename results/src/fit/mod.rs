//! Scalability fits: Gunther's Universal Scalability Law ([`usl`]) fitted to the sweeps of a
//! results file ([`sweeps`]), for the report's scaling charts and `segbench fit`.

pub mod sweeps;
pub mod usl;

pub use sweeps::{fit_rows, fits_table, sweeps, FitRow, Sweep, SweepPoint};
pub use usl::{fit, FitError, UslFit};
