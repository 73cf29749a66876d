//! Rank discovery: which rank this process is, how many there are, and where rank 0 listens,
//! from the environment the launcher set (Slurm, Open MPI / PMIx, MPICH / PMI, a Kubernetes
//! Indexed Job) or from flags. A pure function over an environment map, so every launcher is
//! tested without it. No MPI library is linked: launchers are only read, never called.

use std::collections::BTreeMap;

/// Most ranks in one run: rank 0 keeps a link (a socket and two threads) per rank, and a
/// size beyond this is a typo, refused before anything is sized by it.
pub const MAX_RANKS: u32 = 65_536;

/// The rendezvous port when none is given.
pub const DEFAULT_PORT: u16 = 7879;

/// What started the ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launcher {
    /// Slurm `srun` (`SLURM_PROCID`, `SLURM_NTASKS`).
    Slurm,
    /// Open MPI / PMIx (`OMPI_COMM_WORLD_RANK`, `PMIX_RANK`).
    OpenMpi,
    /// MPICH / PMI (`PMI_RANK`, `PMI_SIZE`).
    Mpich,
    /// A Kubernetes Indexed Job (`JOB_COMPLETION_INDEX`).
    Kubernetes,
    /// `--rank`, `--size`, `--coordinator`.
    Flags,
}

impl Launcher {
    /// The name recorded in results.
    pub fn name(self) -> &'static str {
        match self {
            Launcher::Slurm => "slurm",
            Launcher::OpenMpi => "openmpi",
            Launcher::Mpich => "mpich",
            Launcher::Kubernetes => "kubernetes",
            Launcher::Flags => "flags",
        }
    }
}

/// What the command line says about placement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RankFlags {
    /// `--rank`.
    pub rank: Option<u32>,
    /// `--size`.
    pub size: Option<u32>,
    /// `--coordinator HOST[:PORT]`.
    pub coordinator: Option<String>,
    /// `--port`.
    pub port: u16,
    /// `--k8s-job`.
    pub k8s_job: Option<String>,
    /// `--k8s-service`.
    pub k8s_service: Option<String>,
}

/// This process's place in the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// 0-based rank.
    pub rank: u32,
    /// Number of ranks.
    pub size: u32,
    /// Where rank and size come from.
    pub launcher: Launcher,
    /// Rank 0's rendezvous, HOST:PORT (empty for a run of one rank without one).
    pub coordinator: String,
    /// The first Slurm node when the coordinator was taken from the node list (its NodeAddr
    /// may be needed when the name does not resolve).
    pub slurm_node: Option<String>,
}

/// Why the placement cannot be known: one line naming the value and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RankError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, RankError> {
    Err(RankError(msg.into()))
}

/// The environment as text, from `std::env::vars_os()`: a variable whose name or value is
/// not UTF-8 is left out (segbench reads none such), unless it is one segbench reads, which is
/// refused by name.
pub fn utf8_env(
    vars: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> Result<BTreeMap<String, String>, RankError> {
    const READ: [&str; 9] = [
        "SEGBENCH_",
        "SLURM_",
        "OMPI_",
        "PMIX_",
        "PMI_",
        "JOB_COMPLETION_INDEX",
        "HOSTNAME",
        "MPI_",
        "OMPI",
    ];
    let mut env = BTreeMap::new();
    for (k, v) in vars {
        match (k.into_string(), v.into_string()) {
            (Ok(k), Ok(v)) => {
                env.insert(k, v);
            }
            (Ok(k), Err(_)) if READ.iter().any(|p| k.starts_with(p)) => {
                return err(format!(
                    "{k} is not valid UTF-8: set it to text (a token from `segbench fleet token`, a rank, a host name)"
                ))
            }
            _ => {}
        }
    }
    Ok(env)
}

/// Parses a non-negative integer environment variable or flag value.
fn num(env: &BTreeMap<String, String>, key: &str) -> Result<Option<u32>, RankError> {
    match env.get(key) {
        None => Ok(None),
        Some(v) => match v.trim().parse::<u32>() {
            Ok(n) => Ok(Some(n)),
            Err(_) => err(format!(
                "{key}={v}: not a rank or size; the launcher's environment is damaged"
            )),
        },
    }
}

/// Expands Slurm hostlist syntax (`sbn[1-3]`, `a[01-03,7],b1`, `r[1-2]-n[1-2]`) into host
/// names, keeping zero padding.
pub fn expand_hostlist(list: &str) -> Result<Vec<String>, RankError> {
    let bad = |why: &str| RankError(format!("node list '{list}': {why}"));
    // Split at commas outside brackets.
    let mut items = Vec::new();
    let (mut depth, mut cur) = (0i32, String::new());
    for c in list.trim().chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ => {}
        }
        if !(0..=1).contains(&depth) {
            return Err(bad("unbalanced brackets"));
        }
        if c == ',' && depth == 0 {
            items.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    if depth != 0 {
        return Err(bad("unbalanced brackets"));
    }
    items.push(cur);
    let mut out = Vec::new();
    for item in items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        expand_item(item, &mut out).map_err(|w| bad(&w))?;
    }
    if out.is_empty() {
        return Err(bad("no host"));
    }
    Ok(out)
}

/// Expands one item (no top-level comma), bracket groups left to right.
fn expand_item(item: &str, out: &mut Vec<String>) -> Result<(), String> {
    let Some(open) = item.find('[') else {
        out.push(item.to_string());
        return Ok(());
    };
    let close = item[open..]
        .find(']')
        .map(|i| open + i)
        .ok_or("unbalanced brackets")?;
    let (prefix, ranges, rest) = (&item[..open], &item[open + 1..close], &item[close + 1..]);
    for range in ranges.split(',') {
        let range = range.trim();
        let (lo, hi) = range.split_once('-').unwrap_or((range, range));
        let width = lo.len();
        let (a, b) = match (lo.parse::<u64>(), hi.parse::<u64>()) {
            (Ok(a), Ok(b)) if a <= b && b - a < 100_000 => (a, b),
            _ => return Err(format!("bad range '{range}'")),
        };
        for n in a..=b {
            expand_item(&format!("{prefix}{n:0width$}{rest}"), out)?;
        }
    }
    Ok(())
}

/// `HOST[:PORT]` with `port` added when missing (IPv6 literals in brackets keep theirs).
pub fn with_port(host: &str, port: u16) -> String {
    let h = host.trim();
    let has_port = if let Some(rest) = h.strip_prefix('[') {
        rest.contains("]:")
    } else {
        h.matches(':').count() == 1
    };
    if has_port {
        h.to_string()
    } else if h.contains(':') {
        format!("[{h}]:{port}")
    } else {
        format!("{h}:{port}")
    }
}

/// Rank and size set by a launcher's environment, if any: (launcher, rank, size).
fn from_launcher(
    env: &BTreeMap<String, String>,
    flags: &RankFlags,
) -> Result<Option<(Launcher, u32, Option<u32>)>, RankError> {
    let slurm = num(env, "SLURM_PROCID")?.map(|r| (r, num(env, "SLURM_NTASKS")));
    let ompi = num(env, "OMPI_COMM_WORLD_RANK")?.or(num(env, "PMIX_RANK")?);
    let mpich = num(env, "PMI_RANK")?;
    let mpi = match (ompi, mpich) {
        (Some(r), _) => Some((Launcher::OpenMpi, r, num(env, "OMPI_COMM_WORLD_SIZE")?)),
        (None, Some(r)) => Some((Launcher::Mpich, r, num(env, "PMI_SIZE")?)),
        (None, None) => None,
    };
    if let Some((rank, size)) = slurm {
        let size = size?;
        // mpirun inside an allocation starts its ranks through srun-launched daemons whose
        // SLURM_PROCID is the daemon's: when the two disagree the MPI launcher is the inner one.
        match mpi {
            Some((l, r, s)) if r != rank => return Ok(Some((l, r, s))),
            _ => return Ok(Some((Launcher::Slurm, rank, size))),
        }
    }
    if let Some(m) = mpi {
        return Ok(Some(m));
    }
    if let Some(i) = num(env, "JOB_COMPLETION_INDEX")? {
        return Ok(Some((Launcher::Kubernetes, i, flags.size)));
    }
    Ok(None)
}

/// Works out this process's placement from the environment and the flags (see the module doc).
pub fn discover(env: &BTreeMap<String, String>, flags: &RankFlags) -> Result<Placement, RankError> {
    let port = flags.port;
    let found = from_launcher(env, flags)?;
    let (launcher, rank, size) = match found {
        Some((l, r, s)) => {
            if flags.rank.is_some_and(|f| f != r) {
                return err(format!(
                    "--rank {}: the launcher ({}) already gave this process rank {r}; drop --rank",
                    flags.rank.unwrap_or(0),
                    l.name()
                ));
            }
            let size = match (s, flags.size) {
                (Some(s), Some(f)) if s != f => {
                    return err(format!(
                        "--size {f}: the launcher ({}) says {s} ranks; drop --size",
                        l.name()
                    ))
                }
                (Some(s), _) | (None, Some(s)) => s,
                (None, None) => {
                    return err(format!(
                        "the launcher ({}) gives no number of ranks; add --size N",
                        l.name()
                    ))
                }
            };
            (l, r, size)
        }
        None => match (flags.rank, flags.size) {
            (Some(r), Some(s)) => (Launcher::Flags, r, s),
            (None, None) => (Launcher::Flags, 0, 1),
            (Some(_), None) => return err("--rank without --size: add --size N"),
            (None, Some(_)) => return err("--size without --rank: add --rank R (0 … N-1)"),
        },
    };
    if size == 0 {
        return err("size 0: a run needs at least one rank");
    }
    if size > MAX_RANKS {
        return err(format!(
            "size {size}: a run has at most {MAX_RANKS} ranks; give the number of hosts (--size or the launcher's task count)"
        ));
    }
    if rank >= size {
        return err(format!(
            "rank {rank} of size {size}: ranks go from 0 to {}",
            size - 1
        ));
    }
    let mut slurm_node = None;
    let coordinator = if let Some(c) = &flags.coordinator {
        if c.trim().is_empty() {
            return err("--coordinator '': give HOST:PORT of rank 0");
        }
        with_port(c, port)
    } else if let Some(list) = env
        .get("SLURM_STEP_NODELIST")
        .or_else(|| env.get("SLURM_JOB_NODELIST"))
        .filter(|_| launcher != Launcher::Flags && launcher != Launcher::Kubernetes)
    {
        let first = expand_hostlist(list)?.remove(0);
        slurm_node = Some(first.clone());
        with_port(&first, port)
    } else if launcher == Launcher::Kubernetes {
        let index = rank.to_string();
        let job = flags
            .k8s_job
            .clone()
            .or_else(|| env.get("SEGBENCH_K8S_JOB").cloned())
            .or_else(|| {
                env.get("HOSTNAME")
                    .and_then(|h| h.strip_suffix(&format!("-{index}")).map(str::to_string))
            });
        let service = flags
            .k8s_service
            .clone()
            .or_else(|| env.get("SEGBENCH_K8S_SERVICE").cloned());
        match (job, service) {
            (Some(j), Some(s)) => format!("{j}-0.{s}:{port}"),
            _ => {
                return err(
                    "Kubernetes Indexed Job: rank 0's address needs --k8s-job NAME and \
                     --k8s-service NAME (or SEGBENCH_K8S_JOB / SEGBENCH_K8S_SERVICE), or --coordinator",
                )
            }
        }
    } else if size == 1 {
        String::new()
    } else {
        return err(format!(
            "rank {rank} of {size}: where does rank 0 listen? add --coordinator HOST:PORT"
        ));
    };
    Ok(Placement {
        rank,
        size,
        launcher,
        coordinator,
        slurm_node,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn flags() -> RankFlags {
        RankFlags {
            port: DEFAULT_PORT,
            ..Default::default()
        }
    }

    #[test]
    fn non_utf8_variables_are_left_out_unless_segbench_reads_them() {
        use std::ffi::OsString;
        use std::os::unix::ffi::OsStringExt;
        let bad = || OsString::from_vec(b"\xff\xfe".to_vec());
        let vars = vec![
            (OsString::from("PMI_RANK"), OsString::from("1")),
            (OsString::from("UNRELATED"), bad()),
            (OsString::from_vec(b"K\xff".to_vec()), OsString::from("v")),
        ];
        let e = utf8_env(vars).unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(e["PMI_RANK"], "1");
        let read = vec![(OsString::from("SEGBENCH_FLEET_TOKEN"), bad())];
        let err = utf8_env(read).unwrap_err().0;
        assert!(
            err.contains("SEGBENCH_FLEET_TOKEN is not valid UTF-8"),
            "{err}"
        );
    }

    #[test]
    fn sizes_past_the_bound_are_refused_before_anything_is_sized_by_them() {
        let f = RankFlags {
            rank: Some(0),
            size: Some(4_000_000_000),
            coordinator: Some("h:1".into()),
            ..flags()
        };
        let e = discover(&BTreeMap::new(), &f).unwrap_err().0;
        assert!(e.contains("at most 65536 ranks"), "{e}");
        let f = RankFlags {
            size: Some(MAX_RANKS),
            ..f
        };
        assert_eq!(discover(&BTreeMap::new(), &f).unwrap().size, MAX_RANKS);
    }

    #[test]
    fn slurm_gives_rank_size_and_the_first_node() {
        let e = env(&[
            ("SLURM_PROCID", "2"),
            ("SLURM_NTASKS", "3"),
            ("SLURM_STEP_NODELIST", "sbn[1-3]"),
            ("SLURM_JOB_NODELIST", "other[5-9]"),
            ("SLURM_JOB_ID", "42"),
        ]);
        let p = discover(&e, &flags()).unwrap();
        assert_eq!((p.rank, p.size, p.launcher), (2, 3, Launcher::Slurm));
        assert_eq!(p.coordinator, "sbn1:7879");
        assert_eq!(p.slurm_node.as_deref(), Some("sbn1"));
        // The job node list when the step's is missing; --coordinator overrides both.
        let e = env(&[
            ("SLURM_PROCID", "0"),
            ("SLURM_NTASKS", "2"),
            ("SLURM_JOB_NODELIST", "n[07-08]"),
        ]);
        assert_eq!(discover(&e, &flags()).unwrap().coordinator, "n07:7879");
        let f = RankFlags {
            coordinator: Some("10.0.0.1".into()),
            port: 9000,
            ..flags()
        };
        let p = discover(&e, &f).unwrap();
        assert_eq!(
            (p.coordinator.as_str(), p.slurm_node),
            ("10.0.0.1:9000", None)
        );
    }

    #[test]
    fn open_mpi_pmix_and_mpich() {
        let f = RankFlags {
            coordinator: Some("h0:7000".into()),
            ..flags()
        };
        let e = env(&[("OMPI_COMM_WORLD_RANK", "1"), ("OMPI_COMM_WORLD_SIZE", "4")]);
        let p = discover(&e, &f).unwrap();
        assert_eq!((p.rank, p.size, p.launcher), (1, 4, Launcher::OpenMpi));
        assert_eq!(p.coordinator, "h0:7000");
        let e = env(&[("PMIX_RANK", "3")]);
        let err = discover(&e, &f).unwrap_err();
        assert!(err.0.contains("--size"), "{err}");
        let p = discover(
            &e,
            &RankFlags {
                size: Some(4),
                ..f.clone()
            },
        )
        .unwrap();
        assert_eq!((p.rank, p.launcher), (3, Launcher::OpenMpi));
        let e = env(&[("PMI_RANK", "0"), ("PMI_SIZE", "2")]);
        let p = discover(&e, &f).unwrap();
        assert_eq!((p.rank, p.size, p.launcher), (0, 2, Launcher::Mpich));
        // An MPI rank without a coordinator: say where to give it.
        let err = discover(&env(&[("PMI_RANK", "1"), ("PMI_SIZE", "2")]), &flags()).unwrap_err();
        assert!(err.0.contains("--coordinator"), "{err}");
    }

    #[test]
    fn kubernetes_indexed_job() {
        let e = env(&[("JOB_COMPLETION_INDEX", "2"), ("HOSTNAME", "segbench-2")]);
        let f = RankFlags {
            size: Some(3),
            k8s_service: Some("fleet".into()),
            ..flags()
        };
        let p = discover(&e, &f).unwrap();
        assert_eq!((p.rank, p.size, p.launcher), (2, 3, Launcher::Kubernetes));
        assert_eq!(p.coordinator, "segbench-0.fleet:7879");
        let e = env(&[
            ("JOB_COMPLETION_INDEX", "0"),
            ("SEGBENCH_K8S_JOB", "bench"),
            ("SEGBENCH_K8S_SERVICE", "svc"),
        ]);
        let p = discover(
            &e,
            &RankFlags {
                size: Some(2),
                ..flags()
            },
        )
        .unwrap();
        assert_eq!(p.coordinator, "bench-0.svc:7879");
        assert!(discover(&e, &flags()).unwrap_err().0.contains("--size"));
    }

    #[test]
    fn flags_and_a_single_rank() {
        let f = RankFlags {
            rank: Some(1),
            size: Some(3),
            coordinator: Some("127.0.0.1:5000".into()),
            ..flags()
        };
        let p = discover(&env(&[]), &f).unwrap();
        assert_eq!((p.rank, p.size, p.launcher), (1, 3, Launcher::Flags));
        assert_eq!(p.coordinator, "127.0.0.1:5000");
        let p = discover(&env(&[]), &flags()).unwrap();
        assert_eq!((p.rank, p.size), (0, 1));
    }

    #[test]
    fn precedence_slurm_then_mpi_then_kubernetes() {
        let all = env(&[
            ("SLURM_PROCID", "1"),
            ("SLURM_NTASKS", "2"),
            ("SLURM_JOB_NODELIST", "a1,a2"),
            ("PMI_RANK", "1"),
            ("PMI_SIZE", "2"),
            ("JOB_COMPLETION_INDEX", "0"),
        ]);
        assert_eq!(discover(&all, &flags()).unwrap().launcher, Launcher::Slurm);
        // mpirun inside an allocation: the daemons' SLURM_PROCID differs; MPI is the inner launcher.
        let mut inner = all.clone();
        inner.insert("SLURM_PROCID".into(), "0".into());
        let p = discover(&inner, &flags()).unwrap();
        assert_eq!((p.launcher, p.rank), (Launcher::Mpich, 1));
        assert_eq!(p.coordinator, "a1:7879");
        let k8s_over_flags = env(&[("JOB_COMPLETION_INDEX", "1")]);
        let f = RankFlags {
            rank: Some(1),
            size: Some(2),
            coordinator: Some("c:1".into()),
            ..flags()
        };
        assert_eq!(
            discover(&k8s_over_flags, &f).unwrap().launcher,
            Launcher::Kubernetes
        );
    }

    #[test]
    fn bad_values_name_the_value_and_the_fix() {
        let cases: Vec<(BTreeMap<String, String>, RankFlags, &str)> = vec![
            (env(&[("SLURM_PROCID", "x")]), flags(), "SLURM_PROCID=x"),
            (
                env(&[("SLURM_PROCID", "0"), ("SLURM_NTASKS", "2")]),
                RankFlags {
                    rank: Some(1),
                    ..flags()
                },
                "drop --rank",
            ),
            (
                env(&[]),
                RankFlags {
                    rank: Some(3),
                    size: Some(3),
                    coordinator: Some("c".into()),
                    ..flags()
                },
                "rank 3 of size 3",
            ),
            (
                env(&[]),
                RankFlags {
                    rank: Some(0),
                    ..flags()
                },
                "--size",
            ),
            (
                env(&[]),
                RankFlags {
                    rank: Some(0),
                    size: Some(0),
                    ..flags()
                },
                "size 0",
            ),
            (
                env(&[]),
                RankFlags {
                    rank: Some(1),
                    size: Some(2),
                    ..flags()
                },
                "--coordinator",
            ),
            (
                env(&[
                    ("SLURM_PROCID", "0"),
                    ("SLURM_NTASKS", "2"),
                    ("SLURM_JOB_NODELIST", "a[1-"),
                ]),
                flags(),
                "unbalanced",
            ),
        ];
        for (e, f, needle) in cases {
            let m = discover(&e, &f).unwrap_err().0;
            assert!(m.contains(needle), "'{needle}' not in '{m}'");
            assert!(!m.contains('\n'));
        }
    }

    #[test]
    fn hostlists_expand_like_slurm() {
        assert_eq!(
            expand_hostlist("sbn[1-3]").unwrap(),
            ["sbn1", "sbn2", "sbn3"]
        );
        assert_eq!(
            expand_hostlist("a[01-03,7],b1").unwrap(),
            ["a01", "a02", "a03", "a7", "b1"]
        );
        assert_eq!(
            expand_hostlist("r[1-2]-n[1-2]").unwrap(),
            ["r1-n1", "r1-n2", "r2-n1", "r2-n2"]
        );
        assert_eq!(expand_hostlist("single").unwrap(), ["single"]);
        for bad in ["a[3-1]", "a[x]", "a]1[", "", "a[[1]]"] {
            assert!(expand_hostlist(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ports_are_added_only_when_missing() {
        assert_eq!(with_port("h", 1), "h:1");
        assert_eq!(with_port("h:2", 1), "h:2");
        assert_eq!(with_port("::1", 1), "[::1]:1");
        assert_eq!(with_port("[::1]:3", 1), "[::1]:3");
    }
}
