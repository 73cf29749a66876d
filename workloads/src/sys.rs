//! Thin, safe wrappers around the system calls several engines and the segment-log model share:
//! aligned buffers, memory mappings, O_DIRECT alignment, preallocation, page-cache residency,
//! and whether io_uring may be set up.
//! All `unsafe` of the crate that is not engine-specific lives here.

use std::alloc::{self, Layout};
use std::fs::File;
use std::marker::PhantomData;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::ptr::NonNull;

use crate::EngineError;

/// A zero-initialised heap buffer aligned to `align` bytes (for O_DIRECT and registered buffers).
#[derive(Debug)]
pub struct AlignedBuf {
    ptr: NonNull<u8>,
    layout: Layout,
}

// SAFETY: AlignedBuf owns its allocation exclusively, like a Box<[u8]>.
unsafe impl Send for AlignedBuf {}
// SAFETY: shared references only give `&[u8]`.
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    /// Allocates `len` zeroed bytes aligned to `align` (a power of two). Panics only on a
    /// zero or non-power-of-two alignment, a programming error.
    pub fn new(len: usize, align: usize) -> Self {
        let layout =
            Layout::from_size_align(len.max(1), align.max(1)).expect("alignment is a power of two");
        // SAFETY: layout has a non-zero size.
        let ptr = unsafe { alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(ptr).unwrap_or_else(|| alloc::handle_alloc_error(layout));
        AlignedBuf { ptr, layout }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.layout.size()
    }

    /// True when empty (never: at least one byte is allocated).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: ptr is valid for len initialised bytes for the life of self.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.layout.size()) }
    }

    /// The bytes, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: ptr is valid for len initialised bytes and uniquely borrowed through &mut self.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.layout.size()) }
    }

    /// Raw pointer, for registering with io_uring.
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

/// The access a [`Mapping`] gives: [`Writable`] or [`ReadOnly`].
pub trait Access: std::fmt::Debug {
    /// The `mmap` protection flags.
    const PROT: libc::c_int;
}

/// A mapping's pages may be read and written ([`MmapMut`]).
#[derive(Debug)]
pub struct Writable;

impl Access for Writable {
    const PROT: libc::c_int = libc::PROT_READ | libc::PROT_WRITE;
}

/// A mapping's pages may only be read ([`MmapRo`]).
#[derive(Debug)]
pub struct ReadOnly;

impl Access for ReadOnly {
    const PROT: libc::c_int = libc::PROT_READ;
}

/// A shared memory mapping of the first `len` bytes of a file, unmapped when dropped; `A` says
/// whether it is writable. Use it as [`MmapMut`] or [`MmapRo`].
#[derive(Debug)]
pub struct Mapping<A: Access> {
    ptr: NonNull<u8>,
    len: usize,
    access: PhantomData<A>,
}

/// A shared, writable memory mapping of the first `len` bytes of a file.
pub type MmapMut = Mapping<Writable>;

/// A read-only shared mapping of the first `len` bytes of a file.
pub type MmapRo = Mapping<ReadOnly>;

// SAFETY: the mapping is owned by this value; access goes through &self / &mut self.
unsafe impl<A: Access> Send for Mapping<A> {}

impl<A: Access> Mapping<A> {
    /// `mmap(NULL, len, A::PROT, MAP_SHARED, file, 0)` for `len` > 0 (the callers check it);
    /// `Ok(None)` when the kernel answered with a null address.
    fn map_shared(file: &File, len: usize, path: &Path) -> Result<Option<Self>, EngineError> {
        // SAFETY: a fresh shared mapping of a file we hold open; no existing memory is affected,
        // and the kernel checks the fd's access mode against the protection asked.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                A::PROT,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(EngineError::io(
                "mmap",
                path,
                std::io::Error::last_os_error(),
                0,
            ));
        }
        Ok(NonNull::new(p as *mut u8).map(|ptr| Mapping {
            ptr,
            len,
            access: PhantomData,
        }))
    }

    /// Mapped length.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the mapping is empty (never).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The mapped bytes. They may change under the caller if someone else writes the file
    /// (fine for bytes sent or inspected as they are); touching pages of a file truncated by
    /// someone else raises SIGBUS.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: the mapping is valid for len bytes while self lives.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl MmapMut {
    /// Maps `len` bytes of `file` (opened read-write) shared and writable. The file must be at
    /// least `len` bytes long before pages are touched.
    pub fn map(file: &File, len: usize, path: &Path) -> Result<Self, EngineError> {
        if len == 0 {
            return Err(EngineError::io(
                "mmap",
                path,
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "zero-length mapping"),
                0,
            ));
        }
        Ok(Self::map_shared(file, len, path)?.expect("mmap returned a non-null address"))
    }

    /// The mapped bytes, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: the mapping is valid for len bytes and uniquely borrowed.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// `msync(MS_SYNC)` over `[start, end)` (rounded out to pages).
    pub fn sync_range(&self, start: usize, end: usize, path: &Path) -> Result<(), EngineError> {
        let page = page_size();
        let s = start / page * page;
        let e = end.min(self.len);
        if e <= s {
            return Ok(());
        }
        // SAFETY: [s, e) lies inside the mapping and s is page-aligned.
        let r = unsafe {
            libc::msync(
                self.ptr.as_ptr().add(s) as *mut libc::c_void,
                e - s,
                libc::MS_SYNC,
            )
        };
        if r != 0 {
            return Err(EngineError::io(
                "msync",
                path,
                std::io::Error::last_os_error(),
                0,
            ));
        }
        Ok(())
    }
}

impl MmapRo {
    /// Maps `len` (> 0) bytes of `file` read-only and shared.
    pub fn map(file: &File, len: usize, path: &Path) -> Result<Self, EngineError> {
        if len == 0 {
            return Err(invalid_use("mmap", path, "zero-length mapping".into()));
        }
        Self::map_shared(file, len, path)?
            .ok_or_else(|| invalid_use("mmap", path, "mmap returned a null address".into()))
    }

    /// Which pages are resident (`mincore`): one byte per page, bit 0 set when resident.
    pub fn resident_pages(&self, path: &Path) -> Result<Vec<u8>, EngineError> {
        let mut vec = vec![0u8; self.len.div_ceil(page_size())];
        // SAFETY: ptr maps len bytes; vec has one byte per page of it.
        let r = unsafe {
            libc::mincore(
                self.ptr.as_ptr() as *mut libc::c_void,
                self.len,
                vec.as_mut_ptr(),
            )
        };
        if r != 0 {
            return Err(EngineError::io(
                "mincore",
                path,
                std::io::Error::last_os_error(),
                0,
            ));
        }
        Ok(vec)
    }
}

impl<A: Access> Drop for Mapping<A> {
    fn drop(&mut self) {
        // SAFETY: unmapping the mapping created in `map_shared`; no slice of it outlives self.
        unsafe {
            libc::munmap(self.ptr.as_ptr() as *mut libc::c_void, self.len);
        }
    }
}

/// The system page size.
pub fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as usize
    } else {
        4096
    }
}

/// O_DIRECT alignment for files in `dir`, as `statx(STATX_DIOALIGN)` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct DioAlign {
    /// Required alignment of user buffers, bytes.
    pub mem_align: u32,
    /// Required alignment of file offsets and lengths, bytes.
    pub offset_align: u32,
}

/// Asks the kernel for the O_DIRECT alignment of files in `dir` (statx `STATX_DIOALIGN`, Linux 6.1+).
/// Returns `Ok(None)` when the kernel or file system does not report it, and
/// `Ok(Some(0,0))`-like values are mapped to `None` too (the file system has no O_DIRECT).
pub fn dio_alignment(path: &Path) -> Result<Option<DioAlign>, EngineError> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(|e| {
        EngineError::io(
            "statx",
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, e),
            0,
        )
    })?;
    // SAFETY: statx is plain old data; an all-zero value is valid.
    let mut st: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: c is a valid NUL-terminated path and st a valid out pointer.
    let r = unsafe { libc::statx(libc::AT_FDCWD, c.as_ptr(), 0, libc::STATX_DIOALIGN, &mut st) };
    if r != 0 {
        return Err(EngineError::io(
            "statx",
            path,
            std::io::Error::last_os_error(),
            0,
        ));
    }
    if st.stx_mask & libc::STATX_DIOALIGN == 0 || st.stx_dio_offset_align == 0 {
        return Ok(None);
    }
    Ok(Some(DioAlign {
        mem_align: st.stx_dio_mem_align,
        offset_align: st.stx_dio_offset_align,
    }))
}

/// `fallocate(fd, 0, 0, len)`: reserves blocks so appends do not extend the file's allocation.
pub fn fallocate(file: &File, len: u64, path: &Path) -> Result<(), EngineError> {
    // SAFETY: fallocate on an fd we own; no memory is passed.
    let r = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len as libc::off_t) };
    if r != 0 {
        return Err(EngineError::io(
            "fallocate",
            path,
            std::io::Error::last_os_error(),
            0,
        ));
    }
    Ok(())
}

/// `posix_fallocate` of `len` bytes at `offset`: the blocks are allocated on return, so a store
/// into a mapping of them cannot fault for want of space (SIGBUS). Where the file system has no
/// `fallocate`, the C library writes the blocks instead, with the same guarantee. ENOSPC /
/// EDQUOT come back as [`EngineError::NoSpace`] with `written_bytes` = `offset`.
pub fn reserve(file: &File, offset: u64, len: u64, path: &Path) -> Result<(), EngineError> {
    let (Ok(off), Ok(n)) = (libc::off_t::try_from(offset), libc::off_t::try_from(len)) else {
        return Err(invalid_use(
            "posix_fallocate",
            path,
            format!("{len} bytes at {offset} is beyond a file offset"),
        ));
    };
    // SAFETY: posix_fallocate on an fd we own; no memory is passed. It returns the error
    // number instead of setting errno.
    let r = unsafe { libc::posix_fallocate(file.as_raw_fd(), off, n) };
    if r != 0 {
        return Err(EngineError::io(
            "posix_fallocate",
            path,
            std::io::Error::from_raw_os_error(r),
            offset,
        ));
    }
    Ok(())
}

/// Makes sure the first `need` bytes of `file` (mapped, `cap` bytes long) are allocated before a
/// store: when `need` passes `*reserved`, reserves ([`reserve`]) up to `need` or `step` past
/// `*reserved`, whichever is further, at most `cap`, and moves `*reserved` there.
#[inline]
pub fn reserve_ahead(
    file: &File,
    reserved: &mut usize,
    need: usize,
    step: usize,
    cap: usize,
    path: &Path,
) -> Result<(), EngineError> {
    if need <= *reserved {
        return Ok(());
    }
    let to = need.max(reserved.saturating_add(step)).min(cap);
    reserve(file, *reserved as u64, (to - *reserved) as u64, path)?;
    *reserved = to;
    Ok(())
}

/// `posix_fadvise(POSIX_FADV_DONTNEED)` over the whole file: drops its clean pages from the cache.
pub fn evict(file: &File, path: &Path) -> Result<(), EngineError> {
    // SAFETY: no memory is passed.
    let r = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    if r != 0 {
        return Err(EngineError::io(
            "posix_fadvise",
            path,
            std::io::Error::from_raw_os_error(r),
            0,
        ));
    }
    Ok(())
}

/// Resident pages of a file, measured with `mmap` + `mincore`: `(resident_bytes, file_bytes)`.
pub fn residency(file: &File, path: &Path) -> Result<(u64, u64), EngineError> {
    let len = file
        .metadata()
        .map_err(|e| EngineError::io("stat", path, e, 0))?
        .len();
    if len == 0 {
        return Ok((0, 0));
    }
    let pages = MmapRo::map(file, len as usize, path)?.resident_pages(path)?;
    let resident = pages.iter().filter(|b| **b & 1 == 1).count() as u64;
    Ok(((resident * page_size() as u64).min(len), len))
}

/// Registers one page-aligned `len`-byte buffer with a fresh 2-entry io_uring, then unregisters
/// it: `Ok(())` when registered (fixed) buffers of that size are allowed (the `RLIMIT_MEMLOCK`
/// limit or `CAP_IPC_LOCK`), the kernel's error otherwise. Used by the hardware probe.
pub fn uring_register_buffer_check(len: usize) -> std::io::Result<()> {
    let ring = io_uring::IoUring::new(2)?;
    let mut buf = AlignedBuf::new(len, page_size());
    let iov = libc::iovec {
        iov_base: buf.as_mut_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: `buf` outlives its registration: it is unregistered and the ring dropped below
    // before `buf` is freed, and no operation using it is ever submitted.
    let registered = unsafe { ring.submitter().register_buffers(&[iov]) };
    if registered.is_ok() {
        let _ = ring.submitter().unregister_buffers();
    }
    drop(ring);
    drop(buf);
    registered
}

/// Path of the sysctl that disables io_uring (`0` allowed, `1` only for `kernel.io_uring_group`,
/// `2` for everyone).
const IO_URING_DISABLED_SYSCTL: &str = "/proc/sys/kernel/io_uring_disabled";

/// What the sysctl `kernel.io_uring_disabled` said when an io_uring engine was built, so that
/// both io_uring engines report a refused ring setup alike: as an [`EngineError::Unsupported`]
/// skip that names the likely cause.
#[derive(Debug)]
pub(crate) struct IoUringGate {
    engine: String,
    sysctl: Option<String>,
}

impl IoUringGate {
    /// Reads the sysctl for `engine` (the engine spec, named in errors). Returns
    /// [`EngineError::Unsupported`] when it is `2` (io_uring disabled for everyone).
    pub(crate) fn check(engine: &str) -> Result<Self, EngineError> {
        let gate = IoUringGate {
            engine: engine.to_string(),
            sysctl: std::fs::read_to_string(IO_URING_DISABLED_SYSCTL)
                .ok()
                .map(|s| s.trim().to_string()),
        };
        if gate.sysctl.as_deref() == Some("2") {
            return Err(gate.unsupported(format!(
                "io_uring is disabled by the sysctl kernel.io_uring_disabled=2 ({IO_URING_DISABLED_SYSCTL})"
            )));
        }
        Ok(gate)
    }

    /// An [`EngineError::Unsupported`] of the engine, for `reason`.
    pub(crate) fn unsupported(&self, reason: String) -> EngineError {
        EngineError::Unsupported {
            engine: self.engine.clone(),
            reason,
        }
    }

    /// The skip for a failed `io_uring_setup` (error `e`): a refusal (`EPERM`, `EACCES`,
    /// `ENOSYS`) names the sysctl and the usual culprits; otherwise, when `sqpoll` was asked,
    /// the refused `IORING_SETUP_SQPOLL`.
    pub(crate) fn setup_failed(&self, e: &std::io::Error, sqpoll: bool) -> EngineError {
        let sysctl = self.sysctl.as_deref().unwrap_or("absent");
        self.unsupported(match e.raw_os_error() {
            Some(libc::EPERM) | Some(libc::EACCES) | Some(libc::ENOSYS) => format!(
                "io_uring_setup was refused ({e}): check the sysctl kernel.io_uring_disabled (now {sysctl}) \
                 and kernel.io_uring_group, or a seccomp filter (containers often block io_uring)"
            ),
            _ if sqpoll => format!("the kernel refused IORING_SETUP_SQPOLL ({e})"),
            _ => format!("io_uring_setup failed ({e})"),
        })
    }
}

/// Creates `path` for the write engines: `O_CREAT | O_EXCL` (it must not exist), mode 0644,
/// write-only or read-write, plus `custom_flags` (e.g. `O_DIRECT`, `O_DSYNC`). Returns the raw
/// OS error so callers can tell `EINVAL` (an unsupported flag) from other failures.
pub fn create_file(path: &Path, read: bool, custom_flags: libc::c_int) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(read)
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(custom_flags)
        .open(path)
}

/// Makes what was written to `file` durable with `sync`: `fdatasync`, `fsync`, or nothing for
/// [`crate::SyncKind::Dsync`] (the file was opened `O_DSYNC`). `written_bytes` is reported with
/// an out-of-space error.
pub fn sync_file(
    file: &File,
    sync: crate::SyncKind,
    path: &Path,
    written_bytes: u64,
) -> Result<(), EngineError> {
    match sync {
        crate::SyncKind::Fdatasync => file
            .sync_data()
            .map_err(|e| EngineError::io("fdatasync", path, e, written_bytes)),
        crate::SyncKind::Fsync => file
            .sync_all()
            .map_err(|e| EngineError::io("fsync", path, e, written_bytes)),
        crate::SyncKind::Dsync => Ok(()),
    }
}

/// Touches every page of `buf` (writing the byte already there) so that first use in a
/// measured loop does not pay page faults on fresh memory.
pub fn prefault(buf: &mut [u8]) {
    let page = page_size();
    let mut i = 0;
    while i < buf.len() {
        // SAFETY: i < buf.len(), so the pointer is in bounds and valid for reads and writes.
        unsafe {
            let p = buf.as_mut_ptr().add(i);
            std::ptr::write_volatile(p, std::ptr::read_volatile(p));
        }
        i += page;
    }
}

/// An [`EngineError::Io`] with `InvalidInput` for an engine used against its contract
/// (e.g. an append larger than its buffers or past a mapping's end), naming `op` and `path`.
pub fn invalid_use(op: &'static str, path: &Path, reason: String) -> EngineError {
    EngineError::Io {
        op,
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, reason),
    }
}

/// One classic-BPF instruction (`struct sock_filter`).
#[repr(C)]
struct SockFilter {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

/// A classic-BPF program (`struct sock_fprog`).
#[repr(C)]
struct SockFprog {
    len: u16,
    filter: *const SockFilter,
}

/// Makes `io_uring_setup` fail with EPERM for the calling thread and the threads it starts
/// afterwards, as a container runtime's seccomp profile does. Other threads of the process are
/// not affected. Used to check that io_uring engines report a skip, never a panic, when io_uring
/// is refused; it cannot be undone for that thread.
pub fn deny_io_uring_in_this_thread() -> std::io::Result<()> {
    const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const BPF_JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const BPF_RET_K: u16 = 0x06; // BPF_RET | BPF_K
    const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
    let prog = [
        // seccomp_data.nr is at offset 0.
        SockFilter {
            code: BPF_LD_W_ABS,
            jt: 0,
            jf: 0,
            k: 0,
        },
        SockFilter {
            code: BPF_JEQ_K,
            jt: 0,
            jf: 1,
            k: libc::SYS_io_uring_setup as u32,
        },
        SockFilter {
            code: BPF_RET_K,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ERRNO | libc::EPERM as u32,
        },
        SockFilter {
            code: BPF_RET_K,
            jt: 0,
            jf: 0,
            k: SECCOMP_RET_ALLOW,
        },
    ];
    let fprog = SockFprog {
        len: prog.len() as u16,
        filter: prog.as_ptr(),
    };
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fprog points at a valid filter program that outlives the call (the kernel copies it).
    let r = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER as libc::c_ulong,
            &fprog as *const SockFprog as libc::c_ulong,
            0,
            0,
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn aligned_buffers_are_aligned_and_zeroed() {
        let mut b = AlignedBuf::new(10_000, 4096);
        assert_eq!(b.as_mut_ptr() as usize % 4096, 0);
        assert!(b.as_slice().iter().all(|&x| x == 0));
        b.as_mut_slice()[9_999] = 1;
        assert_eq!(b.len(), 10_000);
    }

    #[test]
    fn mapping_writes_reach_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m");
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        f.set_len(8192).unwrap();
        let mut m = MmapMut::map(&f, 8192, &path).unwrap();
        m.as_mut_slice()[4096..4100].copy_from_slice(b"kafk");
        m.sync_range(4000, 4100, &path).unwrap();
        drop(m);
        assert_eq!(&std::fs::read(&path).unwrap()[4096..4100], b"kafk");
    }

    #[test]
    fn residency_sees_written_pages_and_eviction() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r");
        let mut f = File::create(&path).unwrap();
        f.write_all(&vec![7u8; 1 << 20]).unwrap();
        f.sync_all().unwrap();
        let f = File::open(&path).unwrap();
        let (res, len) = residency(&f, &path).unwrap();
        assert_eq!(len, 1 << 20);
        assert!(res > 0);
        evict(&f, &path).unwrap();
        let (after, _) = residency(&f, &path).unwrap();
        // tmpfs / overlay cannot evict; on a block device it must drop.
        assert!(after <= res);
    }
}
