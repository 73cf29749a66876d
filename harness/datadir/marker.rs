//! The marker file segbench writes into every data directory it owns: who owns it (run id, pid
//! and the process's start time, so a reused pid is not taken for the owner), whether segbench
//! created the directory, whether the data was kept on purpose (`--keep`), and the ledger: the
//! name of every child directory the run created, appended before the directory is made, so
//! `segbench clean` after a SIGKILL removes what the run made whatever its layout, and nothing
//! else.

use std::fs;
use std::io;
use std::path::Path;

/// Name of the marker file segbench puts in every data directory it owns.
pub const MARKER: &str = ".segbench-data";

/// What a marker says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// The run id of the owner.
    pub run: String,
    /// The owner's process id.
    pub pid: u32,
    /// The owner's start time (field 22 of `/proc/PID/stat`, clock ticks since boot); `None` in
    /// markers written before it was recorded.
    pub start_ticks: Option<u64>,
    /// True when segbench created the directory (it then removes it when empty).
    pub created_dir: bool,
    /// True when the run ended and kept its data (`--keep`).
    pub kept: bool,
    /// True when the marker keeps a ledger of children (markers written before it did not:
    /// `clean` then goes by the names segbench used to give them).
    pub ledger: bool,
    /// The child directories the run created, in order (complete `child:` lines only).
    pub children: Vec<String>,
}

/// The line that says a marker keeps a ledger of the children below it.
const LEDGER: &str = "children: one child line per directory this run created";

/// Who a marked directory belongs to now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// A live segbench process other than this one.
    Live {
        /// Its pid.
        pid: u32,
    },
    /// This very process (the directory was given twice).
    ThisProcess,
    /// The owner ended and kept the data on purpose.
    Kept,
    /// The owner is gone without cleaning up (killed, crashed).
    Gone,
}

impl Marker {
    /// A marker for this process.
    pub fn for_this_process(run: &str, created_dir: bool) -> Marker {
        let pid = std::process::id();
        Marker {
            run: run.to_string(),
            pid,
            start_ticks: start_ticks(pid),
            created_dir,
            kept: false,
            ledger: true,
            children: Vec::new(),
        }
    }

    /// The ledger line for child `name` ([`Marker::record_child`]).
    fn child_line(name: &str) -> String {
        format!("child: {name}\n")
    }

    /// Appends child `name` to the ledger of the marker in `dir` (before the child is made, so
    /// no child of the run is ever missing from it).
    pub fn record_child(dir: &Path, name: &str) -> io::Result<()> {
        use std::io::Write;
        let mut f = fs::OpenOptions::new().append(true).open(dir.join(MARKER))?;
        f.write_all(Self::child_line(name).as_bytes())
    }

    /// The marker's text.
    pub fn render(&self) -> String {
        let mut s = format!(
            "segbench data directory\nrun: {}\npid: {}\n",
            self.run, self.pid
        );
        if let Some(t) = self.start_ticks {
            s.push_str(&format!("start_ticks: {t}\n"));
        }
        s.push_str(&format!(
            "created_dir: {}\nstate: {}\n",
            self.created_dir,
            if self.kept { "kept" } else { "running" }
        ));
        if self.ledger {
            s.push_str(LEDGER);
            s.push('\n');
            for c in &self.children {
                s.push_str(&Self::child_line(c));
            }
        }
        s
    }

    /// Parses a marker's text; `None` when it is not one of segbench's.
    pub fn parse(text: &str) -> Option<Marker> {
        if !text.starts_with("segbench data directory") {
            return None;
        }
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix(": ").map(str::trim))
        };
        Some(Marker {
            run: field("run").unwrap_or("").to_string(),
            pid: field("pid")?.parse().ok()?,
            start_ticks: field("start_ticks").and_then(|t| t.parse().ok()),
            created_dir: field("created_dir") == Some("true"),
            kept: field("state") == Some("kept"),
            ledger: text.lines().any(|l| l == LEDGER),
            // A line cut short (a full disk, a kill mid-append) names no child.
            children: text
                .split_inclusive('\n')
                .filter_map(|l| l.strip_prefix("child: ")?.strip_suffix('\n'))
                .filter(|n| is_plain_name(n))
                .map(str::to_string)
                .collect(),
        })
    }

    /// True when `text` is the beginning of a marker cut short (by a full disk, say): it may be
    /// empty, and is a prefix of the marker's first line or begins with it.
    pub fn is_truncated(text: &str) -> bool {
        const HEAD: &str = "segbench data directory";
        HEAD.starts_with(text) || text.starts_with(HEAD)
    }

    /// Reads the marker in `dir`.
    pub fn read(dir: &Path) -> io::Result<Option<Marker>> {
        Ok(Marker::parse(&fs::read_to_string(dir.join(MARKER))?))
    }

    /// Writes this marker into `dir`.
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        fs::write(dir.join(MARKER), self.render())
    }

    /// Who owns the directory now.
    pub fn owner(&self) -> Owner {
        if self.kept {
            return Owner::Kept;
        }
        if self.pid == std::process::id() && self.start_ticks == start_ticks(self.pid) {
            return Owner::ThisProcess;
        }
        if is_live_segbench(self.pid, self.start_ticks) {
            Owner::Live { pid: self.pid }
        } else {
            Owner::Gone
        }
    }
}

/// True when `name` is one plain directory name (no separator, not `.` or `..`, not the
/// marker): the only kind of child a data directory holds.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && name != MARKER && !name.contains('/')
}

/// True when `pid` is a running segbench process (whatever its start time).
pub fn is_live(pid: u32) -> bool {
    is_live_segbench(pid, None)
}

/// The start time of process `pid` in clock ticks since boot (field 22 of `/proc/PID/stat`).
fn start_ticks(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// True when `pid` has exited and only waits to be reaped (a zombie: state `Z` or `X` in
/// `/proc/PID/stat`): a killed run whose parent has not reaped it writes nothing any more.
fn is_dead(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let rest = &s[s.rfind(')')? + 1..];
            rest.split_whitespace()
                .next()
                .map(|st| st == "Z" || st == "X")
        })
        .unwrap_or(true)
}

/// True when `pid` is a running segbench process (and, when recorded, the same one that wrote
/// the marker: same start time).
fn is_live_segbench(pid: u32, recorded_start: Option<u64>) -> bool {
    let Ok(comm) = fs::read_to_string(format!("/proc/{pid}/comm")) else {
        return false;
    };
    if !comm.trim().starts_with("segbench") || is_dead(pid) {
        return false;
    }
    match recorded_start {
        Some(t) => start_ticks(pid) == Some(t),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_round_trips_and_old_markers_parse() {
        let m = Marker::for_this_process("20261130T000000Z-abcd", true);
        assert!(m.start_ticks.is_some(), "this process has a start time");
        assert_eq!(Marker::parse(&m.render()), Some(m.clone()));
        let old = "segbench data directory\nrun: x\npid: 42\ncreated_dir: false\n";
        let o = Marker::parse(old).unwrap();
        assert_eq!(
            (o.pid, o.start_ticks, o.created_dir, o.kept),
            (42, None, false, false)
        );
        assert_eq!(Marker::parse("my notes\npid: 1\n"), None);
        assert!(!o.ledger && o.children.is_empty());
    }

    #[test]
    fn the_ledger_lists_complete_child_lines_only() {
        let t = tempfile::tempdir().unwrap();
        let m = Marker::for_this_process("r", true);
        m.write(t.path()).unwrap();
        Marker::record_child(t.path(), "acks1-r0").unwrap();
        Marker::record_child(t.path(), "m0-r0-with-w").unwrap();
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(t.path().join(MARKER))
            .unwrap();
        std::io::Write::write_all(&mut f, b"child: m0-r0-with").unwrap();
        let read = Marker::read(t.path()).unwrap().unwrap();
        assert!(read.ledger);
        assert_eq!(read.children, ["acks1-r0", "m0-r0-with-w"]);
        // Kept, the ledger stays.
        let kept = Marker { kept: true, ..read };
        assert_eq!(Marker::parse(&kept.render()), Some(kept.clone()));
        assert!(Marker::is_truncated("") && Marker::is_truncated("segbench da"));
        assert!(!Marker::is_truncated("my notes"));
    }

    #[test]
    fn owners_are_told_apart() {
        let mut m = Marker::for_this_process("r", true);
        assert_eq!(m.owner(), Owner::ThisProcess);
        m.kept = true;
        assert_eq!(m.owner(), Owner::Kept);
        // pid 1 is alive but is not segbench.
        let other = Marker {
            pid: 1,
            start_ticks: None,
            ..Marker::for_this_process("r", true)
        };
        assert_eq!(other.owner(), Owner::Gone);
        // This process under another start time: a reused pid, not the owner.
        let reused = Marker {
            start_ticks: m.start_ticks.map(|t| t + 1),
            kept: false,
            ..m.clone()
        };
        assert_eq!(reused.owner(), Owner::Gone);
    }

    #[test]
    fn a_live_segbench_process_owns_its_directory() {
        // A process whose command name starts with "segbench": a copy of sleep(1) named so.
        let t = tempfile::tempdir().unwrap();
        let exe = t.path().join("segbench-sleep");
        fs::copy("/bin/sleep", &exe).unwrap();
        let mut child = std::process::Command::new(&exe).arg("30").spawn().unwrap();
        let pid = child.id();
        let m = Marker {
            pid,
            start_ticks: start_ticks(pid),
            ..Marker::for_this_process("r", true)
        };
        assert!(m.start_ticks.is_some());
        assert_eq!(m.owner(), Owner::Live { pid });
        child.kill().unwrap();
        // Killed, not yet reaped: a zombie owns nothing.
        let t0 = std::time::Instant::now();
        let zombie =
            || fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "));
        while !zombie() && t0.elapsed() < std::time::Duration::from_secs(5) {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(m.owner(), Owner::Gone, "a killed process is gone");
        child.wait().unwrap();
        assert_eq!(m.owner(), Owner::Gone, "a reaped process is gone");
    }
}
