//! Progress on stderr: a bar with the workload, engine, repetition and ETA when stderr is a
//! terminal; plain lines otherwise; nothing at all with `--quiet`. Never on stdout.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use results::Repetition;

use super::LiveCounters;

/// Where progress goes.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    quiet: bool,
    tty: bool,
}

impl Progress {
    /// Progress on stderr; `quiet` silences it.
    pub fn new(quiet: bool) -> Self {
        Progress {
            quiet,
            tty: std::io::stderr().is_terminal(),
        }
    }

    /// A silent progress, for tests.
    pub fn silent() -> Self {
        Progress {
            quiet: true,
            tty: false,
        }
    }

    /// Prints a plain line.
    pub fn line(&self, msg: &str) {
        if !self.quiet {
            eprintln!("{msg}");
        }
    }

    /// Runs `f` while showing how far `live` got towards `bytes` or `duration`.
    pub fn track<R>(
        &self,
        label: &str,
        bytes: Option<u64>,
        duration: Option<Duration>,
        live: &LiveCounters,
        f: impl FnOnce() -> R,
    ) -> R {
        if self.quiet {
            return f();
        }
        let finished = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| self.monitor(label, bytes, duration, live, &finished));
            let r = f();
            finished.store(true, Ordering::Relaxed);
            r
        })
    }

    fn monitor(
        &self,
        label: &str,
        bytes: Option<u64>,
        duration: Option<Duration>,
        live: &LiveCounters,
        finished: &AtomicBool,
    ) {
        let t0 = Instant::now();
        let by_time = duration.is_some() && bytes.is_none();
        let len = if by_time {
            duration.map(|d| d.as_millis() as u64).unwrap_or(1)
        } else {
            bytes.unwrap_or(1)
        };
        let bar = if self.tty {
            let b = ProgressBar::new(len);
            let tmpl = if by_time {
                "{msg:40} [{bar:30}] {elapsed_precise} / ETA {eta}"
            } else {
                "{msg:40} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}"
            };
            if let Ok(st) = ProgressStyle::with_template(tmpl) {
                b.set_style(st.progress_chars("=> "));
            }
            b.set_message(label.to_string());
            Some(b)
        } else {
            None
        };
        let mut last_line = Instant::now();
        while !finished.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
            let done = live.bytes.load(Ordering::Relaxed);
            let pos = if by_time {
                t0.elapsed().as_millis() as u64
            } else {
                done
            };
            if let Some(b) = &bar {
                b.set_position(pos.min(len));
            } else if last_line.elapsed() >= Duration::from_secs(10) {
                last_line = Instant::now();
                eprintln!(
                    "  {label}: {:.0} MB after {:.0}s",
                    done as f64 / 1e6,
                    t0.elapsed().as_secs_f64()
                );
            }
        }
        if let Some(b) = bar {
            b.finish_and_clear();
        }
    }

    /// Prints the one-line outcome of a repetition, and under it whether it was steady when it
    /// ran until steady.
    pub fn done(&self, label: &str, r: &Repetition) {
        self.outcome(label, r);
        if let Some(s) = r.steady() {
            self.line(&format!("  {}", s.describe()));
        }
    }

    fn outcome(&self, label: &str, r: &Repetition) {
        self.line(&format!(
            "{label:<44} {:>9.1} MB/s  p99 {:>9}  CPU {:>6} s/GB",
            r.throughput_bytes_per_s / 1e6,
            results::format::latency(r.latency_ns.p99),
            r.cpu_s_per_gb
                .map(|c| format!("{c:.2}"))
                .unwrap_or_else(|| "-".into()),
        ));
    }
}
