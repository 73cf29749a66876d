use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;

#[test]
fn the_barrier_releases_when_every_rank_is_ready_for_the_same_label() {
    let mut b = Barrier::new([0, 1, 2]);
    assert!(!b.waiting());
    assert_eq!(b.ready(1, "#0 w0-r0"), Ok(None));
    assert_eq!(b.ready(0, "#0 w0-r0"), Ok(None));
    assert_eq!(b.missing(), [2]);
    assert_eq!(b.label(), Some("#0 w0-r0"));
    assert_eq!(b.ready(2, "#0 w0-r0"), Ok(Some("#0 w0-r0".into())));
    assert!(!b.waiting());
    // The next unit starts afresh; the ranks finish together without waiting.
    assert_eq!(b.ready(2, "#1 w0-r1"), Ok(None));
    assert!(b.ready(2, "#1 w0-r1").is_err(), "ready twice");
    let mut b = Barrier::new([0, 1]);
    for r in [0, 1] {
        assert_eq!(b.done(r), Ok(()));
    }
    // One rank: released at once.
    assert_eq!(
        Barrier::new([0]).ready(0, "#0 w0-r0"),
        Ok(Some("#0 w0-r0".into()))
    );
    // A rank outside the step is refused.
    assert!(Barrier::new([0]).ready(3, "#0 w0-r0").is_err());
}

#[test]
fn labels_that_differ_or_a_rank_that_finished_while_others_wait_stop_the_run() {
    let mut b = Barrier::new([0, 1, 2]);
    b.ready(0, "#4 w2-r0").unwrap();
    let e = b.ready(1, "#4 w3-warmup").unwrap_err();
    assert!(e.contains("rank 1") && e.contains("rank 0"), "{e}");
    assert!(e.contains("diverged"), "{e}");

    let mut b = Barrier::new([0, 1, 2]);
    b.ready(0, "#4 w2-r0").unwrap();
    let e = b.done(2).unwrap_err();
    assert!(
        e.contains("rank 2 finished") && e.contains("#4 w2-r0"),
        "{e}"
    );

    // Done first, then another rank asks for a unit: the suites diverged.
    let mut b = Barrier::new([0, 1]);
    b.done(1).unwrap();
    let e = b.ready(0, "#9 w5-r1").unwrap_err();
    assert!(e.contains("rank 1 already finished"), "{e}");
    // A rank outside the barrier (idle in a scaling step) may finish any time.
    let mut b = Barrier::new([0, 1]);
    b.ready(0, "#0 w0-r0").unwrap();
    assert_eq!(b.done(2), Ok(()));
    assert_eq!(b.ready(1, "#0 w0-r0"), Ok(Some("#0 w0-r0".into())));
}

#[test]
fn answers_round_trip_and_garbage_is_refused() {
    for a in [
        Answer::Go {
            start_ns: 1_764_471_000_000_000_000,
            offset_ns: -5,
        },
        Answer::Abort("rank 2 (h2): gone".into()),
    ] {
        let line = a.line();
        assert!(line.ends_with('\n'));
        assert_eq!(Answer::parse(line.trim_end_matches('\n')), Ok(a));
    }
    for bad in ["", "go", "go 1", "go 1 2 3", "go x 2", "start 1 2"] {
        assert!(Answer::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(ready_line("w0-r1\nx"), "ready w0-r1 x\n");
}

fn socket() -> (tempfile::TempDir, std::path::PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("s.sock");
    (d, p)
}

#[test]
fn the_relay_matches_labels_and_relays_the_start_to_the_waiting_child() {
    let (_d, path) = socket();
    let relay = Relay::bind(&path).unwrap();
    let done = AtomicBool::new(false);
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::scope(|s| {
        s.spawn(|| {
            let on_ready = |l: &str| tx.send(l.to_string()).map_err(|e| e.to_string());
            relay.serve(&done, &on_ready).unwrap();
        });
        let child = s.spawn(|| {
            let c = SyncClient::connect(&path).unwrap();
            let stop = AtomicBool::new(false);
            let t0 = Instant::now();
            let first = c.wait("w0-r0", &stop);
            let waited = t0.elapsed();
            let second = c.wait("w0-r1", &stop);
            // Once failed, every later barrier fails at once.
            let third = c.wait("w0-r2", &stop);
            (first, waited, second, third, c.failure())
        });
        let label = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(label, "#0 w0-r0");
        // A start for another unit is refused: the child waits for #0.
        let e = relay.go("#0 w1-r0", 0, 0).unwrap_err();
        assert!(e.contains("w1-r0") && e.contains("#0 w0-r0"), "{e}");
        let start = realtime_ns() + 80_000_000;
        relay.go(&label, start, 1_500_000_000).unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), "#1 w0-r1");
        // Nothing is pending after a start: a second one is refused.
        assert!(relay.ready("#1 w0-r1").is_err(), "already waiting");
        relay.abort("rank 2 (h2): gone");
        let (first, waited, second, third, failure) = child.join().unwrap();
        // The planned offset, plus how late the child really woke.
        let first = first.unwrap();
        assert!((1.5..1.6).contains(&first), "{first}");
        assert!(waited >= Duration::from_millis(70), "{waited:?}");
        let e = second.unwrap_err();
        assert!(e.contains("rank 2 (h2): gone"), "{e}");
        assert_eq!(third, Err(e.clone()));
        assert_eq!(failure, Some(e));
        done.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    assert!(relay.go("#0 w0-r0", 0, 0).is_err(), "nothing pending");
}

#[test]
fn a_child_waiting_at_the_barrier_stops_on_its_stop_flag_or_a_closed_link() {
    let (_d, path) = socket();
    let relay = Arc::new(Relay::bind(&path).unwrap());
    let done = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    // The stop flag is raised once the child is waiting at the barrier (its ready reached the
    // relay), not after a fixed delay.
    let server = {
        let (relay, done, flag) = (relay.clone(), done.clone(), stop.clone());
        std::thread::spawn(move || {
            relay.serve(&done, &|_| {
                flag.store(true, std::sync::atomic::Ordering::Relaxed);
                Ok(())
            })
        })
    };
    let c = SyncClient::connect(&path).unwrap();
    let t0 = Instant::now();
    let e = c.wait("w0-warmup", &stop).unwrap_err();
    assert!(e.contains("stopped"), "{e}");
    assert!(t0.elapsed() < Duration::from_secs(2));
    // The rank goes away: the link closes, the child does not hang.
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    server.join().unwrap().unwrap();
    drop(relay);
    let c2 = SyncClient::connect(&path);
    assert!(c2.is_err(), "nobody listens any more");
}

#[test]
fn a_choice_matches_on_its_unit_and_every_rank_gets_the_lowest_ranks_value() {
    let mut b = Barrier::new([0, 1, 2]);
    assert_eq!(b.ready(2, "#5 best\tdirect"), Ok(None));
    assert_eq!(b.label(), Some("#5 best"));
    assert_eq!(b.ready(0, "#5 best\turing:direct,qd=8"), Ok(None));
    assert_eq!(
        b.ready(1, "#5 best\t-"),
        Ok(Some("#5 best\turing:direct,qd=8".into()))
    );
    // Another unit is still a divergence.
    let mut b = Barrier::new([0, 1]);
    b.ready(0, "#5 best\tdirect").unwrap();
    assert!(b.ready(1, "#5 w4-r0").is_err());
    assert_eq!(label_key("#5 best\tdirect"), "#5 best");
    assert_eq!(label_value("#5 w4-r0"), None);

    let (_d, path) = socket();
    let relay = Relay::bind(&path).unwrap();
    let done = AtomicBool::new(false);
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::scope(|s| {
        s.spawn(|| {
            let on_ready = |l: &str| tx.send(l.to_string()).map_err(|e| e.to_string());
            relay.serve(&done, &on_ready).unwrap();
        });
        let child = s.spawn(|| {
            let c = SyncClient::connect(&path).unwrap();
            let stop = AtomicBool::new(false);
            (
                c.choose("best", "direct", &stop),
                c.agreed_best(
                    Some("mmap".into()),
                    &stop,
                    &crate::runner::progress::Progress::new(true),
                ),
            )
        });
        let mine = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(mine, "#0 best\tdirect");
        // Rank 0 proposed another engine: this host takes it.
        relay.go("#0 best\turing:direct,qd=8", 0, 0).unwrap();
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)).unwrap(),
            "#1 best\tmmap"
        );
        relay.go("#1 best\t-", 0, 0).unwrap();
        let (chosen, agreed) = child.join().unwrap();
        assert_eq!(chosen, Ok("uring:direct,qd=8".into()));
        assert_eq!(agreed, None, "rank 0 had no best engine");
        done.store(true, std::sync::atomic::Ordering::Relaxed);
    });
}
