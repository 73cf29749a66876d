//! What a suite that does not deserialize did wrong, in the words of the suite's checks: a
//! key of another kind (`rf` on a write workload, `threads` on a replicate one, `engines` on
//! a mixed one) or an unknown kind, named with the workload (and part) it is in and the line
//! of the key. Serde sees a tagged workload as a whole, so its own message names neither the
//! workload nor the line; this module finds both again in the text.

use serde::Deserialize;

use super::spec::keys;
use super::{PartSpec, WorkloadSpec};

/// Where a failing key or kind is: the workload's index, name and kind, and the part's when
/// it is in a part; the failing table (the workload's or the part's).
struct Place {
    workload: usize,
    name: String,
    kind: String,
    part: Option<(usize, String, String)>,
    table: toml::Value,
}

/// The byte offset to report and the message for a suite that did not deserialize.
pub(super) fn explain(text: &str, e: &toml::de::Error) -> (Option<usize>, String) {
    let msg = e.message().replace('\n', " ");
    let start = e.span().map(|s| s.start);
    let quoted = |prefix: &str| {
        msg.strip_prefix(prefix)
            .and_then(|r| r.split('`').next())
            .map(str::to_string)
    };
    if let Some(key) = quoted("unknown field `") {
        let Some(place) = find(text) else {
            return (start, msg);
        };
        let offset = key_offset(text, &place, &key).or(start);
        return (offset, foreign_key(&place, &key).unwrap_or(msg));
    }
    if let Some(kind) = quoted("unknown variant `") {
        let offset = text.find(&format!("\"{kind}\"")).or(start);
        let Some(place) = find(text) else {
            return (offset, msg);
        };
        let m = match &place.part {
            None => format!(
                "kind '{kind}': expected \"write\", \"read\", \"replicate\" or \"mixed\""
            ),
            Some((_, pn, _)) => format!(
                "mixed workload '{}', part '{pn}': kind '{kind}': expected one of write, read, snapshot, checkpoint",
                place.name
            ),
        };
        return (offset, m);
    }
    // A value of the wrong type: the line of the key whose value alone fails.
    let offset =
        find(text).and_then(|place| culprit(&place).and_then(|k| key_offset(text, &place, &k)));
    (offset.or(start), msg)
}

/// The key of the failing table of `place` whose value alone (with the kind and the name)
/// does not deserialize.
fn culprit(place: &Place) -> Option<String> {
    let t = place.table.as_table()?;
    t.iter()
        .filter(|(k, _)| *k != "kind" && *k != "name")
        .find(|(k, v)| {
            let mut one: toml::Table = ["kind", "name"]
                .iter()
                .filter_map(|x| t.get(*x).map(|v| (x.to_string(), v.clone())))
                .collect();
            one.insert(k.to_string(), (*v).clone());
            let one = toml::Value::Table(one);
            match place.part {
                Some(_) => PartSpec::deserialize(one).is_err(),
                None => WorkloadSpec::deserialize(one).is_err(),
            }
        })
        .map(|(k, _)| k.clone())
}

/// The message for `key` where `place` does not take it, when the key belongs to another
/// kind; `None` for a key no kind takes (serde's message lists the keys).
fn foreign_key(place: &Place, key: &str) -> Option<String> {
    let name = &place.name;
    if let Some((_, pn, pk)) = &place.part {
        return Some(match key {
            "duration" | "sweep" | "repeat" => format!(
                "mixed workload '{name}', part '{pn}': duration, sweep and repeat belong to the mixed workload"
            ),
            "until_steady" => format!(
                "mixed workload '{name}': until_steady does not apply (its parts are measured over one common interval)"
            ),
            "part" => format!("mixed workload '{name}': part '{pn}' cannot have parts of its own"),
            _ if known(key) => format!(
                "mixed workload '{name}', part '{pn}': {key} does not apply to {pk} parts"
            ),
            _ => return None,
        });
    }
    let kind = place.kind.as_str();
    Some(match (kind, key) {
        ("write" | "read", k) if keys::replicate_only(k) => format!(
            "workload '{name}': rf, acks, leader_engine, follower_engine, min_insync_replicas and replica_* apply to kind = \"replicate\" only"
        ),
        ("replicate", "engines") => format!(
            "workload '{name}': engines does not apply to replicate workloads (leader_engine and follower_engine name the engines)"
        ),
        ("replicate", k) if known(k) => {
            format!("workload '{name}': {k} does not apply to replicate workloads")
        }
        ("mixed", "engines" | "sweep") => format!(
            "mixed workload '{name}': engines and sweep belong to its parts, not to the mixed workload"
        ),
        ("mixed", "until_steady") => format!(
            "mixed workload '{name}': until_steady does not apply (its parts are measured over one common interval)"
        ),
        ("mixed", k) if known(k) => {
            format!("mixed workload '{name}': {k} belongs to its parts, not to the mixed workload")
        }
        (_, "part") => format!("workload '{name}': only a mixed workload has parts"),
        (k, key) if known(key) => format!("workload '{name}': {key} does not apply to {k} workloads"),
        _ => return None,
    })
}

/// True for a key some kind takes.
fn known(key: &str) -> bool {
    keys::write().contains(&key)
        || keys::read().contains(&key)
        || keys::replicate_only(key)
        || keys::periodic().contains(&key)
}

/// The first workload (or part) of `text` that does not deserialize.
fn find(text: &str) -> Option<Place> {
    let doc: toml::Table = text.parse().ok()?;
    let workloads = doc.get("workload")?.as_array()?;
    let str_of = |v: &toml::Value, k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .unwrap_or_default()
            .to_string()
    };
    for (i, w) in workloads.iter().enumerate() {
        if WorkloadSpec::deserialize(w.clone()).is_ok() {
            continue;
        }
        let mut place = Place {
            workload: i,
            name: str_of(w, "name"),
            kind: str_of(w, "kind"),
            part: None,
            table: w.clone(),
        };
        let parts = w.get("part").and_then(|p| p.as_array());
        if let Some((j, p)) =
            parts.into_iter().flatten().enumerate().find(|(_, p)| {
                place.kind == "mixed" && PartSpec::deserialize((*p).clone()).is_err()
            })
        {
            place.part = Some((j, str_of(p, "name"), str_of(p, "kind")));
            place.table = p.clone();
        }
        return Some(place);
    }
    None
}

/// The offset of `key = …` in the workload (or part) of `place`: after its header, the
/// `[[workload]]` (and `[[workload.part]]`) of the same index, before the next header.
fn key_offset(text: &str, place: &Place, key: &str) -> Option<usize> {
    let mut from = nth_header(text, 0, "[[workload]]", place.workload)?;
    if let Some((j, _, _)) = &place.part {
        from = nth_header(text, from, "[[workload.part]]", *j)?;
    }
    let mut offset = from;
    for (n, line) in text[from..].split_inclusive('\n').enumerate() {
        let t = line.trim_start();
        if n > 0 && t.starts_with('[') {
            return None;
        }
        let is_key = t
            .strip_prefix(key)
            .is_some_and(|r| r.trim_start().starts_with('='));
        if is_key {
            return Some(offset + (line.len() - t.len()));
        }
        offset += line.len();
    }
    None
}

/// The offset of the `n`-th line from `from` on that is `header`.
fn nth_header(text: &str, from: usize, header: &str, n: usize) -> Option<usize> {
    let mut offset = from;
    let mut seen = 0;
    for line in text[from..].split_inclusive('\n') {
        if line.trim() == header {
            if seen == n {
                return Some(offset);
            }
            seen += 1;
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::suite::parse;

    /// A key of another kind is refused with the workload, the kind and the key's own line.
    #[test]
    fn a_key_of_another_kind_names_the_workload_and_its_line() {
        let two = |second: &str| {
            format!("name = \"x\"\n\n[[workload]]\nkind = \"write\"\nname = \"w\"\nengines = [\"mmap\"]\nsize = \"1MiB\"\n\n[[workload]]\n{second}")
        };
        for (second, want) in [
            (
                "kind = \"read\"\nname = \"r\"\nengines = [\"sendfile\"]\nthreads = 2\n",
                "s.toml, line 13: workload 'r': threads does not apply to read workloads",
            ),
            (
                "kind = \"write\"\nname = \"w2\"\nengines = [\"mmap\"]\nsize = \"1MiB\"\ncache = \"hot\"\n",
                "s.toml, line 14: workload 'w2': cache does not apply to write workloads",
            ),
            (
                "kind = \"read\"\nname = \"r\"\nengines = [\"sendfile\"]\nacks = \"all\"\n",
                "s.toml, line 13: workload 'r': rf, acks, leader_engine, follower_engine, min_insync_replicas and replica_* apply to kind = \"replicate\" only",
            ),
            (
                "kind = \"mixed\"\nname = \"m\"\nduration = \"1s\"\nengines = [\"mmap\"]\n",
                "s.toml, line 13: mixed workload 'm': engines and sweep belong to its parts, not to the mixed workload",
            ),
            (
                "kind = \"mixed\"\nname = \"m\"\nduration = \"1s\"\n[[workload.part]]\nkind = \"write\"\nname = \"a\"\nengines = [\"mmap\"]\n[[workload.part]]\nkind = \"snapshot\"\nname = \"s\"\nengines = [\"mmap\"]\n",
                "s.toml, line 20: mixed workload 'm', part 's': engines does not apply to snapshot parts",
            ),
            (
                "kind = \"mixed\"\nname = \"m\"\nduration = \"1s\"\n[[workload.part]]\nkind = \"fsync\"\nname = \"a\"\n",
                "s.toml, line 14: mixed workload 'm', part 'a': kind 'fsync': expected one of write, read, snapshot, checkpoint",
            ),
            (
                "kind = \"turbo\"\nname = \"t\"\n",
                "s.toml, line 10: kind 'turbo': expected \"write\", \"read\", \"replicate\" or \"mixed\"",
            ),
        ] {
            let e = parse(&two(second), Path::new("s.toml")).unwrap_err().0;
            assert_eq!(e, want, "{second}");
        }
    }

    /// A value of the wrong type is named at its own line, in a workload or in a part.
    #[test]
    fn a_value_of_the_wrong_type_names_its_line() {
        let text = "name = \"x\"\n\n[[workload]]\nkind = \"write\"\nname = \"w\"\npartitions = \"4\"\nengines = [\"mmap\"]\n";
        let e = parse(text, Path::new("s.toml")).unwrap_err().0;
        assert_eq!(
            e,
            "s.toml, line 6: invalid type: string \"4\", expected u32"
        );
        let text = "name = \"x\"\n[[workload]]\nkind = \"mixed\"\nname = \"m\"\nduration = \"1s\"\n[[workload.part]]\nkind = \"write\"\nname = \"a\"\nengines = [\"mmap\"]\n[[workload.part]]\nkind = \"snapshot\"\nname = \"s\"\nevery_records = \"many\"\n";
        let e = parse(text, Path::new("s.toml")).unwrap_err().0;
        assert!(e.starts_with("s.toml, line 13: invalid type"), "{e}");
    }
}
