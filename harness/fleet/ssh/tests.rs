//! `fleet ssh`'s pure parts: host lists, the `-- run` options, quoting and the remote script,
//! architectures and `ssh -G`.

use super::*;

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn hosts_from_lists_and_a_file_once_each() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("hosts");
    fs::write(&f, "# rack 1\nc\n\n d # spare\n").unwrap();
    assert_eq!(
        host_list(&s(&["a,b", "root@e"]), Some(&f)).unwrap(),
        ["a", "b", "root@e", "c", "d"]
    );
    assert!(host_list(&[], None).unwrap_err().contains("no hosts"));
    assert!(host_list(&s(&["a,b,a"]), None)
        .unwrap_err()
        .contains("twice"));
    assert!(host_list(&s(&["a", "-oProxyCommand=x"]), None).is_err());
    assert!(host_list(&[], Some(&dir.path().join("none"))).is_err());
}

#[test]
fn run_args_leave_placement_to_the_launcher() {
    assert_eq!(
        check_run_args(&s(&["run", "--quick"])).unwrap(),
        ["--quick"]
    );
    assert!(check_run_args(&s(&["--quick"])).is_err());
    assert!(check_run_args(&[]).is_err());
    for bad in ["--rank", "--size=3", "--coordinator", "--out", "-o"] {
        let e = check_run_args(&s(&["run", bad, "x"])).unwrap_err();
        assert!(e.contains("launcher"), "{e}");
    }
}

#[test]
fn the_remote_script_quotes_and_watches_its_stdin() {
    assert_eq!(quote("a/b-c.toml").unwrap(), "a/b-c.toml");
    assert_eq!(quote("").unwrap(), "''");
    // Each value comes back whole from a shell: a space, quotes, a `$`, a backslash.
    for v in [
        "x y",
        "it's",
        "say \"hi\"",
        "$HOME and $(id)",
        "back\\slash",
        "it's $x \"y\"",
    ] {
        let q = quote(v).unwrap();
        let out = Command::new("sh")
            .args(["-c", &format!("printf %s {q}")])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), v, "{q}");
    }
    // A NUL byte cannot be in a shell word: refused with one line, here and in the script
    // and the `-- run` options (exit 2 through bad_input).
    let e = quote("a\0b").unwrap_err();
    assert_eq!(e, r"'a\0b' holds a NUL byte, which no shell word can carry");
    assert!(remote_script("segbench", &s(&["--quick", "a\0b"])).is_err());
    assert_eq!(check_run_args(&s(&["run", "a\0b"])).unwrap_err(), e);
    let sc = remote_script("/opt/seg bench", &s(&["--quick", "x y"])).unwrap();
    assert!(
        sc.contains("'/opt/seg bench' fleet run --quick 'x y' </dev/null &"),
        "{sc}"
    );
    assert!(sc.contains("read -r SEGBENCH_FLEET_TOKEN"), "{sc}");
    assert!(sc.contains("kill -s HUP $p"), "{sc}");
    // The script parses.
    let ok = Command::new("sh").args(["-n", "-c", &sc]).status().unwrap();
    assert!(ok.success());
}

#[test]
fn architectures_and_ssh_g() {
    assert!(arch_matches("x86_64", "x86_64\n"));
    assert!(arch_matches("aarch64", "arm64"));
    assert!(!arch_matches("x86_64", "aarch64"));
    let g = "user root\nhostname 198.18.0.11\nport 22\n";
    assert_eq!(ssh_hostname(g).as_deref(), Some("198.18.0.11"));
    assert_eq!(ssh_hostname("port 22\n"), None);
}
