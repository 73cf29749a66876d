//! Standard output for results and tables. A reader that goes away (`segbench … | head -1`)
//! is not an error: what it did not take is dropped quietly and the command finishes its
//! cleanup as usual (Rust ignores SIGPIPE, so `print!` would panic instead).

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stdout and flushes it; nothing (and no error) once the reader has gone.
pub fn print(text: &str) -> io::Result<()> {
    write_to(&mut io::stdout().lock(), text)
}

/// [`print`] with a final newline.
pub fn println(text: &str) -> io::Result<()> {
    print(&format!("{text}\n"))
}

fn write_to(out: &mut impl Write, text: &str) -> io::Result<()> {
    if CLOSED.load(Ordering::Relaxed) {
        return Ok(());
    }
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            CLOSED.store(true, Ordering::Relaxed);
            Ok(())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Gone;
    impl Write for Gone {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_reader_that_went_away_is_not_an_error() {
        assert!(write_to(&mut Gone, "table\n").is_ok());
        let mut v = Vec::new();
        // Once closed, later output is dropped too.
        assert!(write_to(&mut v, "more").is_ok());
        assert!(v.is_empty());
    }
}
