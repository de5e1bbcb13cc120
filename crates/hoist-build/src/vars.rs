//! Variable scopes for expansion, with BuildKit's ARG rules.
//!
//! - ARGs before the first FROM are global: visible in FROM lines only, unless a stage
//!   re-declares them (`ARG NAME` without a value takes the global value).
//! - In a stage, an ARG's value is the `--build-arg` value, else its own default, else the
//!   global value, else (for the platform ARGs) the automatic value; otherwise it is unset.
//! - ENV wins over ARG of the same name.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use hoist_oci::Platform;

/// Proxy ARGs that are predefined: usable without an ARG line, never reported unused.
pub(crate) const PROXY_ARGS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// `--build-arg` values, remembering which were consumed.
pub(crate) struct BuildArgs {
    values: BTreeMap<String, String>,
    used: RefCell<BTreeSet<String>>,
}

impl BuildArgs {
    pub(crate) fn new(values: BTreeMap<String, String>) -> Self {
        BuildArgs {
            values,
            used: RefCell::default(),
        }
    }

    pub(crate) fn take(&self, name: &str) -> Option<String> {
        let v = self.values.get(name).cloned();
        if v.is_some() {
            self.used.borrow_mut().insert(name.to_string());
        }
        v
    }

    /// Build args nobody declared, sorted.
    pub(crate) fn unused(&self) -> Vec<String> {
        let used = self.used.borrow();
        self.values
            .keys()
            .filter(|k| !used.contains(*k) && !PROXY_ARGS.contains(&k.as_str()))
            .cloned()
            .collect()
    }
}

/// The automatic platform ARGs (`TARGETPLATFORM`, `BUILDARCH`, ...).
pub(crate) fn platform_args(target: &Platform, build: &Platform) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for (prefix, p) in [("TARGET", target), ("BUILD", build)] {
        m.insert(format!("{prefix}PLATFORM"), p.to_string());
        m.insert(format!("{prefix}OS"), p.os.clone());
        m.insert(format!("{prefix}ARCH"), p.architecture.clone());
        m.insert(
            format!("{prefix}VARIANT"),
            p.variant.clone().unwrap_or_default(),
        );
    }
    m
}

/// The variables visible to one stage's instructions.
#[derive(Default, Clone)]
pub(crate) struct Scope {
    /// Declared ARGs with a value.
    pub(crate) args: BTreeMap<String, String>,
    /// The image's ENV, in order, as `(key, value)`.
    pub(crate) env: Vec<(String, String)>,
}

impl Scope {
    /// Looks a variable up: ENV first, then ARG.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        self.env
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| self.args.get(name).cloned())
    }

    /// Sets an ENV value, keeping the position of an existing key.
    pub(crate) fn set_env(&mut self, key: &str, value: String) {
        match self.env.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.env.push((key.to_string(), value)),
        }
    }

    /// Loads ENV from an image config's `K=V` list.
    pub(crate) fn load_env(&mut self, env: &[String]) {
        self.env = env
            .iter()
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (kv.clone(), String::new()),
            })
            .collect();
    }

    /// ENV as a config `K=V` list.
    pub(crate) fn env_list(&self) -> Vec<String> {
        self.env.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    /// Declares a stage ARG (see the module docs for precedence).
    pub(crate) fn declare_arg(
        &mut self,
        name: &str,
        default: Option<String>,
        build_args: &BuildArgs,
        globals: &BTreeMap<String, String>,
        automatic: &BTreeMap<String, String>,
    ) {
        let value = build_args
            .take(name)
            .or(default)
            .or_else(|| globals.get(name).cloned())
            .or_else(|| automatic.get(name).cloned());
        match value {
            Some(v) => {
                self.args.insert(name.to_string(), v);
            }
            None => {
                self.args.remove(name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arg_precedence_and_env_wins() {
        let ba = BuildArgs::new([("A".to_string(), "cli".to_string())].into());
        let globals: BTreeMap<_, _> = [("B".to_string(), "global".to_string())].into();
        let auto = platform_args(&"linux/arm64".parse().unwrap(), &Platform::host());
        let mut s = Scope::default();
        s.declare_arg("A", Some("default".into()), &ba, &globals, &auto);
        s.declare_arg("B", None, &ba, &globals, &auto);
        s.declare_arg("C", None, &ba, &globals, &auto);
        s.declare_arg("TARGETARCH", None, &ba, &globals, &auto);
        assert_eq!(s.get("A").as_deref(), Some("cli"));
        assert_eq!(s.get("B").as_deref(), Some("global"));
        assert_eq!(s.get("C"), None);
        assert_eq!(s.get("TARGETARCH").as_deref(), Some("arm64"));
        s.set_env("A", "env".into());
        assert_eq!(s.get("A").as_deref(), Some("env"));
        assert!(ba.unused().is_empty());
        let ba = BuildArgs::new(
            [
                ("X".to_string(), "1".to_string()),
                ("HTTP_PROXY".into(), "p".into()),
            ]
            .into(),
        );
        assert_eq!(ba.unused(), vec!["X".to_string()]);
    }
}
