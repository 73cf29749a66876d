//! The write engines driven exactly as the runner drives them (open / buffer / submit / reap /
//! flush / close, then a second file), checked against what was appended: exact file bytes
//! (no padding left), every token back exactly once, and the device bytes each engine reports.
//! Engines this kernel or file system lacks print `SKIP: reason` and return.

mod driver;
mod pwrite;
mod uring;
