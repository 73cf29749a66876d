//! io_uring: enabled or not and why, supported opcodes (register probe), SQPOLL, registered
//! buffers, memlock limit.

use io_uring::opcode;
use results::probe::IoUringInfo;

use super::source::{field, Root};

/// Opcodes of the io-uring crate (one per kernel opcode), with kernel names.
const OPCODES: &[(&str, u8)] = &[
    ("NOP", opcode::Nop::CODE),
    ("READV", opcode::Readv::CODE),
    ("WRITEV", opcode::Writev::CODE),
    ("FSYNC", opcode::Fsync::CODE),
    ("READ_FIXED", opcode::ReadFixed::CODE),
    ("WRITE_FIXED", opcode::WriteFixed::CODE),
    ("POLL_ADD", opcode::PollAdd::CODE),
    ("POLL_REMOVE", opcode::PollRemove::CODE),
    ("SYNC_FILE_RANGE", opcode::SyncFileRange::CODE),
    ("SENDMSG", opcode::SendMsg::CODE),
    ("RECVMSG", opcode::RecvMsg::CODE),
    ("TIMEOUT", opcode::Timeout::CODE),
    ("TIMEOUT_REMOVE", opcode::TimeoutRemove::CODE),
    ("ACCEPT", opcode::Accept::CODE),
    ("ASYNC_CANCEL", opcode::AsyncCancel::CODE),
    ("LINK_TIMEOUT", opcode::LinkTimeout::CODE),
    ("CONNECT", opcode::Connect::CODE),
    ("FALLOCATE", opcode::Fallocate::CODE),
    ("OPENAT", opcode::OpenAt::CODE),
    ("CLOSE", opcode::Close::CODE),
    ("FILES_UPDATE", opcode::FilesUpdate::CODE),
    ("STATX", opcode::Statx::CODE),
    ("READ", opcode::Read::CODE),
    ("WRITE", opcode::Write::CODE),
    ("FADVISE", opcode::Fadvise::CODE),
    ("MADVISE", opcode::Madvise::CODE),
    ("SEND", opcode::Send::CODE),
    ("RECV", opcode::Recv::CODE),
    ("OPENAT2", opcode::OpenAt2::CODE),
    ("EPOLL_CTL", opcode::EpollCtl::CODE),
    ("SPLICE", opcode::Splice::CODE),
    ("PROVIDE_BUFFERS", opcode::ProvideBuffers::CODE),
    ("REMOVE_BUFFERS", opcode::RemoveBuffers::CODE),
    ("TEE", opcode::Tee::CODE),
    ("SHUTDOWN", opcode::Shutdown::CODE),
    ("RENAMEAT", opcode::RenameAt::CODE),
    ("UNLINKAT", opcode::UnlinkAt::CODE),
    ("MKDIRAT", opcode::MkDirAt::CODE),
    ("SYMLINKAT", opcode::SymlinkAt::CODE),
    ("LINKAT", opcode::LinkAt::CODE),
    ("MSG_RING", opcode::MsgRingData::CODE),
    ("FSETXATTR", opcode::FSetXattr::CODE),
    ("SETXATTR", opcode::SetXattr::CODE),
    ("FGETXATTR", opcode::FGetXattr::CODE),
    ("GETXATTR", opcode::GetXattr::CODE),
    ("SOCKET", opcode::Socket::CODE),
    ("URING_CMD", opcode::UringCmd16::CODE),
    ("SEND_ZC", opcode::SendZc::CODE),
    ("SENDMSG_ZC", opcode::SendMsgZc::CODE),
    ("READ_MULTISHOT", opcode::ReadMulti::CODE),
    ("WAITID", opcode::WaitId::CODE),
    ("FUTEX_WAIT", opcode::FutexWait::CODE),
    ("FUTEX_WAKE", opcode::FutexWake::CODE),
    ("FUTEX_WAITV", opcode::FutexWaitV::CODE),
    ("FIXED_FD_INSTALL", opcode::FixedFdInstall::CODE),
    ("FTRUNCATE", opcode::Ftruncate::CODE),
    ("BIND", opcode::Bind::CODE),
    ("LISTEN", opcode::Listen::CODE),
    ("RECV_ZC", opcode::RecvZc::CODE),
    ("EPOLL_WAIT", opcode::EpollWait::CODE),
    ("READV_FIXED", opcode::ReadvFixed::CODE),
    ("WRITEV_FIXED", opcode::WritevFixed::CODE),
    ("PIPE", opcode::Pipe::CODE),
];

/// Reads the io_uring settings visible under `root` (sysctl, seccomp).
pub(crate) fn parse(root: &Root, notes: &mut Vec<String>) -> IoUringInfo {
    let mut u = IoUringInfo {
        sysctl_disabled: root
            .line("/proc/sys/kernel/io_uring_disabled")
            .and_then(|s| s.parse().ok()),
        seccomp_mode: root
            .read("/proc/self/status")
            .and_then(|s| field(&s, "Seccomp").and_then(|v| v.parse().ok())),
        ..IoUringInfo::default()
    };
    if u.sysctl_disabled.is_none() {
        notes.push(
            "io_uring: no kernel.io_uring_disabled sysctl (kernel before 6.6: no global switch)"
                .into(),
        );
    }
    if u.sysctl_disabled == Some(2) {
        u.enabled = Some(false);
        u.disabled_reason = Some("disabled by sysctl kernel.io_uring_disabled=2".into());
    }
    u
}

/// Tries a ring, SQPOLL and a registered buffer, and lists supported opcodes (live only).
pub(crate) fn live(u: &mut IoUringInfo, notes: &mut Vec<String>) {
    match nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_MEMLOCK) {
        Ok((soft, _hard)) if soft == libc::RLIM_INFINITY => u.memlock_unlimited = true,
        Ok((soft, _hard)) => u.memlock_limit_bytes = Some(soft),
        Err(e) => notes.push(format!("io_uring: memlock limit unknown: {e}")),
    }
    let ring = match io_uring::IoUring::new(8) {
        Ok(r) => r,
        Err(e) => {
            u.enabled = Some(false);
            u.disabled_reason = Some(why_disabled(&e, u.sysctl_disabled, u.seccomp_mode));
            return;
        }
    };
    u.enabled = Some(true);
    u.disabled_reason = None;
    let p = ring.params();
    for (on, name) in [
        (p.is_feature_single_mmap(), "single_mmap"),
        (p.is_feature_nodrop(), "nodrop"),
        (p.is_feature_submit_stable(), "submit_stable"),
        (p.is_feature_rw_cur_pos(), "rw_cur_pos"),
        (p.is_feature_cur_personality(), "cur_personality"),
        (p.is_feature_fast_poll(), "fast_poll"),
        (p.is_feature_poll_32bits(), "poll_32bits"),
        (p.is_feature_sqpoll_nonfixed(), "sqpoll_nonfixed"),
        (p.is_feature_ext_arg(), "ext_arg"),
        (p.is_feature_native_workers(), "native_workers"),
        (p.is_feature_resource_tagging(), "rsrc_tags"),
        (p.is_feature_skip_cqe_on_success(), "cqe_skip"),
        (p.is_feature_linked_file(), "linked_file"),
        (p.is_feature_recvsend_bundle(), "recvsend_bundle"),
        (p.is_feature_min_timeout(), "min_timeout"),
        (p.is_feature_no_iowait(), "no_iowait"),
    ] {
        if on {
            u.features.push(name.to_string());
        }
    }
    let mut probe = io_uring::Probe::new();
    match ring.submitter().register_probe(&mut probe) {
        Ok(()) => {
            for (name, code) in OPCODES {
                if probe.is_supported(*code) {
                    u.opcodes_supported.push((*name).to_string());
                } else {
                    u.opcodes_unsupported.push((*name).to_string());
                }
            }
        }
        Err(e) => notes.push(format!(
            "io_uring: opcode probe failed (kernel before 5.6?): {e}"
        )),
    }
    drop(ring);
    let sqpoll: std::io::Result<io_uring::IoUring> =
        io_uring::IoUring::builder().setup_sqpoll(10).build(8);
    match sqpoll {
        Ok(_) => u.sqpoll_allowed = Some(true),
        Err(e) => {
            u.sqpoll_allowed = Some(false);
            notes.push(format!("io_uring: SQPOLL ring refused: {e}"));
        }
    }
    match workloads::sys::uring_register_buffer_check(1 << 20) {
        Ok(()) => u.registered_buffers_allowed = Some(true),
        Err(e) => {
            u.registered_buffers_allowed = Some(false);
            notes.push(format!(
                "io_uring: registering a 1 MiB buffer failed: {e} (raise ulimit -l)"
            ));
        }
    }
}

/// Explains a failed `io_uring_setup`.
fn why_disabled(e: &std::io::Error, sysctl: Option<u32>, seccomp: Option<u32>) -> String {
    match (e.raw_os_error(), sysctl, seccomp) {
        (Some(libc::EPERM), Some(2), _) => "disabled by sysctl kernel.io_uring_disabled=2".into(),
        (Some(libc::EPERM), Some(1), _) => {
            "restricted by sysctl kernel.io_uring_disabled=1 (only members of kernel.io_uring_group)".into()
        }
        (Some(libc::EPERM | libc::ENOSYS), _, Some(2)) => {
            format!("io_uring_setup refused ({e}) with a seccomp filter active: blocked by seccomp (e.g. a container profile)")
        }
        (Some(libc::ENOSYS), _, _) => "kernel built without io_uring (ENOSYS)".into(),
        _ => format!("io_uring_setup failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcode_table_has_unique_names_and_codes() {
        let mut names: Vec<_> = OPCODES.iter().map(|o| o.0).collect();
        let mut codes: Vec<_> = OPCODES.iter().map(|o| o.1).collect();
        names.sort();
        names.dedup();
        codes.sort();
        codes.dedup();
        assert_eq!(names.len(), OPCODES.len());
        assert_eq!(codes.len(), OPCODES.len());
        assert_eq!(OPCODES.iter().find(|o| o.0 == "NOP").map(|o| o.1), Some(0));
    }

    #[test]
    fn reasons_name_the_cause() {
        let eperm = std::io::Error::from_raw_os_error(libc::EPERM);
        assert!(why_disabled(&eperm, Some(2), Some(0)).contains("io_uring_disabled=2"));
        assert!(why_disabled(&eperm, Some(0), Some(2)).contains("seccomp"));
        let enosys = std::io::Error::from_raw_os_error(libc::ENOSYS);
        assert!(why_disabled(&enosys, None, Some(0)).contains("without io_uring"));
    }
}
