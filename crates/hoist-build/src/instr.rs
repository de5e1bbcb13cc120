//! Instructions that only edit the image config (no layer).

use hoist_dockerfile::{CmdLine, Command, Healthcheck, HealthcheckCmd, Instruction};
use hoist_oci::{Empty, HealthConfig};

use crate::error::{BuildError, Location};
use crate::exec::StageState;
use crate::plan::expand;

/// Applies a config-only instruction. Returns the history text (`created_by`).
pub(crate) fn apply_metadata(
    st: &mut StageState,
    ins: &Instruction,
    at: &Location,
) -> Result<String, BuildError> {
    let lexer = st.lexer;
    let ex = |st: &StageState, w: &str| expand(&lexer, at, w, |n| st.scope.get(n));
    let text = match &ins.command {
        Command::Env(pairs) => {
            let mut shown = Vec::new();
            for kv in pairs {
                let key = expand(&lexer, at, &kv.key, |n| st.scope.get(n))?;
                let value = expand(&lexer, at, &kv.value, |n| st.scope.get(n))?;
                if key.is_empty() {
                    return Err(BuildError::at(at, "ENV names can not be blank"));
                }
                shown.push(format!("{key}={value}"));
                st.scope.set_env(&key, value);
            }
            st.config.config.env = st.scope.env_list();
            format!("ENV {}", shown.join(" "))
        }
        Command::Label(pairs) => {
            let mut shown = Vec::new();
            for kv in pairs {
                let key = ex(st, &kv.key)?;
                let value = ex(st, &kv.value)?;
                if key.is_empty() {
                    return Err(BuildError::at(at, "LABEL names can not be blank"));
                }
                shown.push(format!("{key}={value}"));
                st.config.config.labels.insert(key, value);
            }
            format!("LABEL {}", shown.join(" "))
        }
        Command::Expose(ports) => {
            let mut added = Vec::new();
            for p in ports {
                for port in expand_ports(&ex(st, p)?).map_err(|m| BuildError::at(at, m))? {
                    added.push(format!("{port}:{{}}"));
                    st.config.config.exposed_ports.insert(port, Empty {});
                }
            }
            added.sort();
            format!("EXPOSE map[{}]", added.join(" "))
        }
        Command::Workdir(_) => unreachable_meta(at, "WORKDIR")?,
        Command::User(u) => {
            let user = ex(st, u)?;
            st.config.config.user = Some(user.clone());
            format!("USER {user}")
        }
        Command::Entrypoint(cmd) => {
            let argv = st.argv(cmd);
            st.config.config.entrypoint = Some(argv);
            // Docker: an ENTRYPOINT set in this stage resets a CMD inherited from the base.
            if !st.cmd_set {
                st.config.config.cmd = None;
            }
            format!(
                "ENTRYPOINT {}",
                show_argv(st.config.config.entrypoint.as_deref())
            )
        }
        Command::Cmd(cmd) => {
            let argv = st.argv(cmd);
            st.config.config.cmd = Some(argv);
            st.cmd_set = true;
            format!("CMD {}", show_argv(st.config.config.cmd.as_deref()))
        }
        Command::Volume(vols) => {
            let mut shown = Vec::new();
            for v in vols {
                let v = ex(st, v)?;
                if v.trim().is_empty() {
                    return Err(BuildError::at(
                        at,
                        "VOLUME specified can not be an empty string",
                    ));
                }
                shown.push(v.clone());
                st.config.config.volumes.insert(v, Empty {});
            }
            format!("VOLUME [{}]", shown.join(" "))
        }
        Command::StopSignal(s) => {
            let sig = ex(st, s)?;
            st.config.config.stop_signal = Some(sig.clone());
            format!("STOPSIGNAL {sig}")
        }
        Command::Healthcheck(h) => {
            st.config.config.healthcheck = Some(health(h));
            format!(
                "HEALTHCHECK {}",
                ins.original
                    .split_once(char::is_whitespace)
                    .map_or("", |(_, rest)| rest)
                    .trim()
            )
        }
        Command::Shell(argv) => {
            st.shell = argv.clone();
            st.config.config.shell = Some(argv.clone());
            format!("SHELL {}", show_argv(Some(argv)))
        }
        Command::Onbuild(_) => {
            let trigger = ins.onbuild_trigger().unwrap_or_default();
            st.config
                .config
                .on_build
                .get_or_insert_with(Vec::new)
                .push(trigger.clone());
            format!("ONBUILD {trigger}")
        }
        Command::Maintainer(m) => {
            let m = ex(st, m)?;
            st.config.author = Some(m.clone());
            format!("MAINTAINER {m}")
        }
        Command::Arg(_)
        | Command::From { .. }
        | Command::Copy(_)
        | Command::Add(_)
        | Command::Run(_) => unreachable_meta(at, "this instruction")?,
    };
    Ok(text)
}

fn unreachable_meta(at: &Location, what: &str) -> Result<String, BuildError> {
    Err(BuildError::at(
        at,
        format!("internal: {what} is not a metadata instruction"),
    ))
}

/// `["a","b"]` as Docker prints argv in history.
fn show_argv(argv: Option<&[String]>) -> String {
    let items: Vec<String> = argv
        .unwrap_or_default()
        .iter()
        .map(|a| serde_json::to_string(a).unwrap_or_default())
        .collect();
    format!("[{}]", items.join(" "))
}

fn health(h: &Healthcheck) -> HealthConfig {
    let ns = |d: Option<std::time::Duration>| d.map_or(0, |d| d.as_nanos() as i64);
    match h {
        Healthcheck::None => HealthConfig {
            test: vec!["NONE".into()],
            ..Default::default()
        },
        Healthcheck::Cmd(HealthcheckCmd {
            cmd,
            interval,
            timeout,
            start_period,
            start_interval,
            retries,
        }) => HealthConfig {
            test: match cmd {
                CmdLine::Exec(argv) => std::iter::once("CMD".to_string())
                    .chain(argv.iter().cloned())
                    .collect(),
                CmdLine::Shell(s) => vec!["CMD-SHELL".into(), s.clone()],
            },
            interval: ns(*interval),
            timeout: ns(*timeout),
            start_period: ns(*start_period),
            start_interval: ns(*start_interval),
            retries: retries.map_or(0, i64::from),
        },
    }
}

/// `80`, `80/udp`, `8000-8002/tcp` → `80/tcp`, … (ranges expanded, as Docker does).
pub(crate) fn expand_ports(spec: &str) -> Result<Vec<String>, String> {
    let (ports, proto) = match spec.split_once('/') {
        Some((p, proto)) => (p, proto.to_ascii_lowercase()),
        None => (spec, "tcp".to_string()),
    };
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto {proto:?} in EXPOSE {spec}"));
    }
    let bad = || format!("invalid port {spec:?} in EXPOSE: expected PORT[-PORT][/PROTO]");
    let (lo, hi) = match ports.split_once('-') {
        Some((a, b)) => (
            a.parse::<u16>().map_err(|_| bad())?,
            b.parse::<u16>().map_err(|_| bad())?,
        ),
        None => {
            let p = ports.parse::<u16>().map_err(|_| bad())?;
            (p, p)
        }
    };
    if hi < lo {
        return Err(bad());
    }
    Ok((lo..=hi).map(|p| format!("{p}/{proto}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports() {
        assert_eq!(expand_ports("80").unwrap(), vec!["80/tcp"]);
        assert_eq!(expand_ports("53/UDP").unwrap(), vec!["53/udp"]);
        assert_eq!(expand_ports("8000-8002").unwrap().len(), 3);
        assert!(expand_ports("http").is_err());
        assert!(expand_ports("80/xyz").is_err());
        assert!(expand_ports("9-1").is_err());
    }
}
