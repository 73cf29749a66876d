//! SIGINT, SIGTERM and SIGHUP (a closed terminal): the first one asks every command to stop (the
//! runner checks a flag once per operation), write partial results and clean up; a second one
//! removes the data directories' data at once (as the end of the run would), says what was left
//! where, and exits (128 + signal).
//! Uses `signal-hook`'s signal iterator (a thread that receives the signals outside the handler)
//! rather than hand-written handlers.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// The stop flag and which signal set it.
#[derive(Debug, Clone)]
pub struct StopSignals {
    /// Set by the first SIGINT / SIGTERM / SIGHUP.
    pub stop: Arc<AtomicBool>,
    signal: Arc<AtomicUsize>,
}

static SIGNALS: OnceLock<StopSignals> = OnceLock::new();

/// Installs the handlers once and returns the shared flag.
pub fn install() -> &'static StopSignals {
    SIGNALS.get_or_init(|| {
        let s = StopSignals {
            stop: Arc::new(AtomicBool::new(false)),
            signal: Arc::new(AtomicUsize::new(0)),
        };
        match Signals::new([SIGINT, SIGTERM, SIGHUP]) {
            Ok(mut signals) => {
                let shared = s.clone();
                std::thread::spawn(move || {
                    for sig in signals.forever() {
                        shared.receive(sig);
                    }
                });
            }
            Err(e) => eprintln!("segbench: cannot catch signals ({e}): Ctrl-C ends at once"),
        }
        s
    })
}

impl StopSignals {
    /// The first signal asks to stop; a second one cleans up and exits at once.
    fn receive(&self, sig: i32) {
        if !self.stop.swap(true, Ordering::SeqCst) {
            self.signal.store(sig as usize, Ordering::SeqCst);
            return;
        }
        let done = crate::datadir::remove_all_now();
        crate::fleet::child::remove_scratch_now();
        eprintln!("segbench: second signal: stopped at once, without results; {done}");
        std::process::exit(128 + sig);
    }

    /// The signal that asked to stop, if any.
    pub fn received(&self) -> Option<i32> {
        match self.signal.load(Ordering::Relaxed) {
            0 => None,
            s => Some(s as i32),
        }
    }

    /// Exit code for an interrupted command: 128 + signal (130 for SIGINT, 143 for SIGTERM,
    /// 129 for SIGHUP).
    pub fn exit_code(&self) -> Option<u8> {
        self.received().map(|s| (128 + s) as u8)
    }
}
