//! Engine specs: `NAME[:opt,opt=val]`, e.g. `uring:qd=32,direct,fixed`.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::EngineError;

impl EngineError {
    /// What is wrong with an engine spec, for a message that names the spec itself, e.g.
    /// `--engine uring:qd=0: qd=0 is out of range: use 1..=4096`: the reason of an
    /// [`EngineError::InvalidSpec`] (which names the option), any other error whole.
    pub fn spec_reason(&self) -> String {
        match self {
            EngineError::InvalidSpec { reason, .. } => reason.clone(),
            other => other.to_string(),
        }
    }

    /// This error as a message about the spec `given` under `label` (the flag or key it came
    /// from), naming the option rather than "engine spec":
    /// `--engine uring:qd=0: qd=0 is out of range: use 1..=4096`.
    pub fn about_spec(&self, label: &str, given: &str) -> String {
        format!("{label} {given}: {}", self.spec_reason())
    }
}

/// A parsed engine spec: a name and its options in order of appearance (a flag has no value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineSpec {
    /// Engine name, e.g. `uring`.
    pub name: String,
    /// Options, e.g. `qd` -> `Some("32")`, `direct` -> `None`.
    pub options: BTreeMap<String, Option<String>>,
}

impl EngineSpec {
    /// True when the flag option `key` is present.
    pub fn flag(&self, key: &str) -> bool {
        self.options.contains_key(key)
    }

    /// The value of `key=value`, parsed; `default` when absent.
    pub fn value<T: FromStr>(&self, key: &str, default: T) -> Result<T, EngineError> {
        match self.options.get(key) {
            None => Ok(default),
            Some(None) => Err(self.invalid(format!("option '{key}' needs a value, e.g. {key}=8"))),
            Some(Some(v)) => v
                .parse()
                .map_err(|_| self.invalid(format!("option '{key}={v}' has an invalid value"))),
        }
    }

    /// Refuses any option not in `known`, naming the ones that are.
    pub fn check_options(&self, known: &[&str]) -> Result<(), EngineError> {
        for k in self.options.keys() {
            if !known.contains(&k.as_str()) {
                let list = if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                };
                return Err(self.invalid(format!(
                    "unknown option '{k}' for engine '{}' (options: {list})",
                    self.name
                )));
            }
        }
        Ok(())
    }

    /// An [`EngineError::InvalidSpec`] for this spec.
    pub fn invalid(&self, reason: String) -> EngineError {
        EngineError::InvalidSpec {
            spec: self.to_string(),
            reason,
        }
    }
}

impl FromStr for EngineSpec {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<Self, EngineError> {
        let invalid = |reason: &str| EngineError::InvalidSpec {
            spec: s.to_string(),
            reason: reason.to_string(),
        };
        let (name, rest) = match s.split_once(':') {
            Some((n, r)) => (n, Some(r)),
            None => (s, None),
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(invalid(
                "expected NAME[:opt,opt=val], e.g. uring:qd=32,direct",
            ));
        }
        let mut options = BTreeMap::new();
        if let Some(rest) = rest {
            for opt in rest.split(',') {
                let (k, v) = match opt.split_once('=') {
                    Some((k, v)) => (k.trim(), Some(canonical_value(v.trim()))),
                    None => (opt.trim(), None),
                };
                if k.is_empty() || v.as_deref() == Some("") {
                    return Err(invalid(
                        "empty option: expected NAME[:opt,opt=val], e.g. uring:qd=32,direct",
                    ));
                }
                if options.insert(k.to_string(), v).is_some() {
                    return Err(invalid(&format!("option '{k}' given twice")));
                }
            }
        }
        Ok(EngineSpec {
            name: name.to_string(),
            options,
        })
    }
}

/// An option's value as the engines read it: a whole number without its leading zeros
/// (`qd=08` is `qd=8`), so two spellings of one engine are one spec, one row name.
fn canonical_value(v: &str) -> String {
    if v.len() > 1 && v.bytes().all(|b| b.is_ascii_digit()) {
        let t = v.trim_start_matches('0');
        if t.is_empty() { "0" } else { t }.to_string()
    } else {
        v.to_string()
    }
}

impl fmt::Display for EngineSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        let mut sep = ':';
        for (k, v) in &self.options {
            match v {
                Some(v) => write!(f, "{sep}{k}={v}")?,
                None => write!(f, "{sep}{k}")?,
            }
            sep = ',';
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_name_flags_and_values() {
        let s: EngineSpec = "uring:qd=32,direct,fixed".parse().unwrap();
        assert_eq!(s.name, "uring");
        assert!(s.flag("direct") && s.flag("fixed") && !s.flag("sqpoll"));
        assert_eq!(s.value("qd", 1u32).unwrap(), 32);
        assert_eq!(s.to_string(), "uring:direct,fixed,qd=32");
        let b: EngineSpec = "buffered".parse().unwrap();
        assert!(b.options.is_empty());
        assert_eq!(b.value("qd", 7u32).unwrap(), 7);
    }

    #[test]
    fn refuses_malformed_specs() {
        for bad in [
            "",
            ":qd=1",
            "uring:",
            "uring:qd=",
            "uring:qd=1,qd=2",
            "ur ing",
            "uring:,direct",
        ] {
            assert!(bad.parse::<EngineSpec>().is_err(), "{bad}");
        }
        let s: EngineSpec = "uring:qd=x,bogus".parse().unwrap();
        assert!(s.value("qd", 1u32).is_err());
        let e = s.check_options(&["qd", "direct"]).unwrap_err().to_string();
        assert!(e.contains("bogus") && e.contains("qd, direct"), "{e}");
    }
}
