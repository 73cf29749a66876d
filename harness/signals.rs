//! SIGINT, SIGTERM and SIGHUP (a closed terminal): the first one asks every command to stop (the runner checks a flag once
//! per operation), write partial results and clean up; a second one exits at once.
//! Uses `signal-hook` (async-signal-safe flag setting) rather than hand-written handlers.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

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
        for sig in [
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGHUP,
        ] {
            // A second signal while the flag is already set: exit immediately (130 / 143 / 129).
            let _ =
                signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, s.stop.clone());
            let _ = signal_hook::flag::register_usize(sig, s.signal.clone(), sig as usize);
            let _ = signal_hook::flag::register(sig, s.stop.clone());
        }
        s
    })
}

impl StopSignals {
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
