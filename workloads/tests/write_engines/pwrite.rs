//! The pwrite-style engines (buffered, mmap, direct) and the refusals every engine shares.

use std::path::Path;

use workloads::skip::{skip, Skip};
use workloads::write::direct::Direct;
use workloads::write::{build, FileTarget, WriteEngine};
use workloads::{EngineError, EngineSpec, SyncKind};

use crate::driver::*;

#[test]
fn buffered_writes_exact_files() {
    roundtrip("buffered", PLAIN);
    roundtrip(
        "buffered",
        Run {
            flush: Flush::Every(7, SyncKind::Fdatasync),
            preallocate: true,
            dsync: false,
        },
    );
    roundtrip(
        "buffered",
        Run {
            flush: Flush::Every(1, SyncKind::Dsync),
            preallocate: false,
            dsync: true,
        },
    );
}

#[test]
fn mmap_writes_exact_files_with_and_without_flush() {
    roundtrip("mmap", PLAIN);
    roundtrip(
        "mmap",
        Run {
            flush: Flush::Every(5, SyncKind::Fdatasync),
            preallocate: true,
            dsync: false,
        },
    );
    roundtrip(
        "mmap",
        Run {
            flush: Flush::Every(9, SyncKind::Fsync),
            preallocate: false,
            dsync: false,
        },
    );
    roundtrip(
        "mmap",
        Run {
            flush: Flush::Never,
            preallocate: false,
            dsync: true,
        },
    );
}

#[test]
fn mmap_refuses_an_append_past_its_capacity() {
    let dir = tempdir();
    let mut e = build_or_skip("mmap", dir.path()).unwrap();
    let path = dir.path().join("small.log");
    e.open(&FileTarget {
        path: &path,
        capacity_bytes: 10_000,
        preallocate: false,
        dsync: false,
    })
    .unwrap();
    e.buffer(6_000).unwrap().unwrap().fill(1);
    e.submit(6_000, 0, None).unwrap();
    let err = e.buffer(6_000).unwrap_err().to_string();
    assert!(err.contains("capacity"), "{err}");
    e.close(&mut Vec::new()).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), vec![1u8; 6_000]);
}

#[test]
fn direct_writes_exact_files_and_reports_amplification() {
    let dir = tempdir();
    let spec: EngineSpec = "direct".parse().unwrap();
    let engine = match Direct::new(&spec, dir.path(), MAX_APPEND) {
        Ok(e) => e,
        Err(e @ EngineError::Unsupported { .. }) => return skip(Skip::Platform, &e.to_string()),
        Err(e) => panic!("{e}"),
    };
    let align = engine.alignment();
    println!("O_DIRECT alignment in {}: {align:?}", dir.path().display());
    let mut engine: Box<dyn WriteEngine> = Box::new(engine);
    assert!(engine.caps().direct && !engine.caps().page_cache);
    let plan = two_files();
    for run in [
        PLAIN,
        Run {
            flush: Flush::Every(4, SyncKind::Fdatasync),
            preallocate: true,
            dsync: false,
        },
    ] {
        let sub = tempfile::tempdir_in(dir.path()).unwrap();
        let out = drive(engine.as_mut(), sub.path(), &plan, run);
        check(&out, &plan);
        let expected: Vec<u64> = plan
            .iter()
            .flat_map(|f| direct_device_bytes(align.block_bytes, f))
            .collect();
        assert_eq!(out.device_bytes, expected);
    }
}

#[test]
fn direct_device_bytes_match_a_hand_computed_case() {
    let dir = tempdir();
    let Some(mut e) = build_or_skip("direct", dir.path()) else {
        return;
    };
    let spec: EngineSpec = "direct".parse().unwrap();
    let block = Direct::new(&spec, dir.path(), MAX_APPEND)
        .unwrap()
        .alignment()
        .block_bytes;
    let appends = [100, 1000, 512, 436, 512];
    let want: Vec<u64> = match block {
        // [0,512) | [0,1536) | [1024,2048) | [1536,2048) | [2048,2560)
        512 => vec![512, 1536, 1024, 512, 512],
        // every append rewrites the first 4 KiB block
        4096 => vec![4096; 5],
        other => {
            return skip(
                Skip::Platform,
                &format!("hand-computed case is for 512 or 4096-byte blocks, not {other}"),
            )
        }
    };
    assert_eq!(direct_device_bytes(block, &appends), want);
    let out = drive(e.as_mut(), dir.path(), &[appends.to_vec()], PLAIN);
    check(&out, &[appends.to_vec()]);
    assert_eq!(out.device_bytes, want);
}

#[test]
fn direct_on_tmpfs_is_unsupported_when_it_refuses_o_direct() {
    use std::os::unix::fs::OpenOptionsExt;
    let shm = Path::new("/dev/shm");
    let tmpfs = nix::sys::statfs::statfs(shm)
        .is_ok_and(|st| st.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC);
    if !tmpfs {
        return skip(Skip::Platform, "/dev/shm is not a tmpfs here");
    }
    let probe = tempfile::tempdir_in(shm).unwrap();
    let refused = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_DIRECT)
        .open(probe.path().join("p"))
        .err()
        .and_then(|e| e.raw_os_error())
        == Some(libc::EINVAL);
    let spec: EngineSpec = "direct".parse().unwrap();
    let got = Direct::new(&spec, probe.path(), MAX_APPEND);
    if refused {
        let e = got.unwrap_err();
        assert!(e.is_unsupported(), "{e}");
        assert!(
            e.to_string()
                .contains("O_DIRECT is not supported by the file system"),
            "{e}"
        );
    } else {
        // Linux 6.6+ tmpfs accepts O_DIRECT: then the engine must work there.
        let e = got.unwrap();
        println!("O_DIRECT alignment on tmpfs: {:?}", e.alignment());
        skip(
            Skip::Platform,
            "tmpfs accepts O_DIRECT on this kernel; the Unsupported path is not reachable here",
        );
    }
    // The probe file is gone either way.
    let left: Vec<_> = std::fs::read_dir(probe.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        left.iter().all(|n| !n.to_string_lossy().contains("probe")),
        "{left:?}"
    );
}

#[test]
fn unknown_or_invalid_options_are_refused() {
    let dir = tempdir();
    for bad in [
        "uring:qd=0",
        "uring:qd=5000",
        "uring:qd=x",
        "uring:bogus",
        "buffered:qd=4",
        "mmap:direct",
        "direct:qd=2",
    ] {
        let spec: EngineSpec = bad.parse().unwrap();
        match build(&spec, dir.path(), MAX_APPEND) {
            Err(EngineError::InvalidSpec { .. }) => {}
            Err(e) => panic!("{bad}: expected InvalidSpec, got {e}"),
            Ok(_) => panic!("{bad}: accepted"),
        }
    }
}

#[test]
fn engines_refuse_to_overwrite_an_existing_file() {
    let dir = tempdir();
    let path = dir.path().join("exists.log");
    std::fs::write(&path, b"keep").unwrap();
    for spec in ["buffered", "mmap", "direct", "uring"] {
        let Some(mut e) = build_or_skip(spec, dir.path()) else {
            continue;
        };
        let r = e.open(&FileTarget {
            path: &path,
            capacity_bytes: 4096,
            preallocate: false,
            dsync: false,
        });
        assert!(r.is_err(), "{spec} opened an existing file");
    }
    assert_eq!(std::fs::read(&path).unwrap(), b"keep");
}
