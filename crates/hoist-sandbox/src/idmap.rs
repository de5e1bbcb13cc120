//! User namespace id maps: which mapping to use for an [`IdMap`] choice, what the
//! map files contain, and writing them for the sandbox init (by the parent).

use std::fs;
use std::io;
use std::path::PathBuf;
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::error::SandboxError;
use crate::probe::Capabilities;
use crate::spec::{IdMap, UserSpec};

/// How many subordinate ids are mapped (container 1..=65536).
pub const SUBID_COUNT: u32 = 65536;

/// A subordinate id range from /etc/subuid or /etc/subgid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubidRange {
    /// First host id of the range.
    pub start: u32,
    /// Number of ids.
    pub count: u32,
}

/// The first range in `content` (the text of /etc/subuid or /etc/subgid) for the
/// user named `name` or with numeric id `id`, skipping empty ranges and comments.
pub fn parse_subid(content: &str, name: Option<&str>, id: u32) -> Option<SubidRange> {
    let id_text = id.to_string();
    content.lines().find_map(|line| {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        // Malformed lines are skipped, as shadow-utils' own parser does.
        let mut fields = line.split(':');
        let owner = fields.next()?;
        let start = fields.next()?.trim().parse().ok()?;
        let count: u32 = fields.next()?.trim().parse().ok()?;
        let matches = owner == id_text || name.is_some_and(|n| n == owner);
        (matches && count > 0).then_some(SubidRange { start, count })
    })
}

/// The mapping chosen for one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IdMapping {
    /// Running as root: every id maps to itself.
    Identity,
    /// Container 0 → the current uid/gid, nothing else mapped.
    Single { uid: u32, gid: u32 },
    /// Container 0 → the current uid/gid, 1..=count → the subordinate ranges,
    /// written by the setuid helpers.
    Subid {
        uid: u32,
        gid: u32,
        uids: SubidRange,
        gids: SubidRange,
        newuidmap: PathBuf,
        newgidmap: PathBuf,
    },
}

impl IdMapping {
    /// Pick the mapping for `choice` given the host facts.
    pub(crate) fn choose(caps: &Capabilities, choice: IdMap) -> Result<Self, SandboxError> {
        let subid = || match (&caps.newuidmap, &caps.newgidmap, caps.subuid, caps.subgid) {
            (Some(u), Some(g), Some(uids), Some(gids)) => Ok(Self::Subid {
                uid: caps.euid,
                gid: caps.egid,
                uids,
                gids,
                newuidmap: u.clone(),
                newgidmap: g.clone(),
            }),
            (None, ..) | (_, None, ..) => {
                Err("newuidmap/newgidmap not found (install the uidmap package)")
            }
            (_, _, None, _) => Err("no range for this user in /etc/subuid"),
            (_, _, _, None) => Err("no range for this user in /etc/subgid"),
        };
        let single = Self::Single {
            uid: caps.euid,
            gid: caps.egid,
        };
        match choice {
            IdMap::Single => Ok(single),
            _ if caps.is_root() => Ok(Self::Identity),
            IdMap::Auto => Ok(subid().unwrap_or(single)),
            IdMap::Subid => subid().map_err(|reason| SandboxError::SubidUnavailable {
                uid: caps.euid,
                reason: reason.to_owned(),
            }),
        }
    }

    /// Contents of `uid_map` (inside outside count).
    pub(crate) fn uid_map(&self) -> String {
        match self {
            Self::Identity => identity("/proc/self/uid_map"),
            Self::Single { uid, .. } => format!("0 {uid} 1\n"),
            Self::Subid { uid, uids, .. } => {
                format!(
                    "0 {uid} 1\n1 {} {}\n",
                    uids.start,
                    uids.count.min(SUBID_COUNT)
                )
            }
        }
    }

    /// Contents of `gid_map` (inside outside count).
    pub(crate) fn gid_map(&self) -> String {
        match self {
            Self::Identity => identity("/proc/self/gid_map"),
            Self::Single { gid, .. } => format!("0 {gid} 1\n"),
            Self::Subid { gid, gids, .. } => {
                format!(
                    "0 {gid} 1\n1 {} {}\n",
                    gids.start,
                    gids.count.min(SUBID_COUNT)
                )
            }
        }
    }

    /// Whether `setgroups(2)` works inside (an unprivileged single mapping must deny it).
    pub(crate) fn setgroups_allowed(&self) -> bool {
        !matches!(self, Self::Single { .. })
    }

    /// Fail early, with a clear message, when the requested user is not mapped.
    pub(crate) fn check_user(&self, user: &UserSpec) -> Result<(), SandboxError> {
        let (max_uid, max_gid) = match self {
            Self::Identity => (u32::MAX, u32::MAX),
            Self::Single { .. } => (0, 0),
            Self::Subid { uids, gids, .. } => {
                (uids.count.min(SUBID_COUNT), gids.count.min(SUBID_COUNT))
            }
        };
        let mapping = self.describe();
        if user.uid > max_uid {
            return Err(SandboxError::IdNotMapped {
                kind: "uid",
                id: user.uid,
                mapping,
            });
        }
        if let Some(gid) = std::iter::once(user.gid)
            .chain(user.additional_gids.iter().copied())
            .find(|gid| *gid > max_gid)
        {
            return Err(SandboxError::IdNotMapped {
                kind: "gid",
                id: gid,
                mapping,
            });
        }
        Ok(())
    }

    fn describe(&self) -> String {
        match self {
            Self::Identity => "identity mapping".to_owned(),
            Self::Single { uid, .. } => format!("single mapping of container 0 to uid {uid}"),
            Self::Subid { uids, .. } => format!(
                "container 1..={} to subordinate ids from {}",
                uids.count.min(SUBID_COUNT),
                uids.start
            ),
        }
    }

    /// The argv of `newuidmap`/`newgidmap` for `pid` (Subid only).
    pub(crate) fn helper_commands(&self, pid: u32) -> Vec<(PathBuf, Vec<String>)> {
        let Self::Subid {
            uid,
            gid,
            uids,
            gids,
            newuidmap,
            newgidmap,
        } = self
        else {
            return Vec::new();
        };
        let args = |own: u32, range: &SubidRange| {
            [pid, 0, own, 1, 1, range.start, range.count.min(SUBID_COUNT)]
                .iter()
                .map(u32::to_string)
                .collect()
        };
        vec![
            (newuidmap.clone(), args(*uid, uids)),
            (newgidmap.clone(), args(*gid, gids)),
        ]
    }

    /// Write the maps for the process `pid` (which has just unshared its user ns).
    pub(crate) fn apply(&self, pid: u32) -> Result<(), SandboxError> {
        let write = |file: &str, contents: &str| {
            fs::write(format!("/proc/{pid}/{file}"), contents).map_err(|source| {
                SandboxError::IdMapWrite {
                    what: file.to_owned(),
                    pid,
                    source,
                }
            })
        };
        match self {
            Self::Identity | Self::Single { .. } => {
                if !self.setgroups_allowed() {
                    write("setgroups", "deny")?;
                }
                write("uid_map", &self.uid_map())?;
                write("gid_map", &self.gid_map())
            }
            Self::Subid { .. } => {
                for (program, args) in self.helper_commands(pid) {
                    run_helper(&program, &args, pid)?;
                }
                Ok(())
            }
        }
    }
}

/// The identity map of every id this process's own namespace maps (all of them in
/// the initial namespace; the subordinate range inside [`crate::userns`]).
fn identity(own_map: &str) -> String {
    let own = fs::read_to_string(own_map).unwrap_or_default();
    let lines: Vec<String> = own
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 3).then(|| format!("{} {} {}\n", f[0], f[0], f[2]))
        })
        .collect();
    if lines.is_empty() {
        "0 0 4294967295\n".to_owned()
    } else {
        lines.concat()
    }
}

fn run_helper(program: &PathBuf, args: &[String], pid: u32) -> Result<(), SandboxError> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|source| SandboxError::IdMapWrite {
            what: program.display().to_string(),
            pid,
            source,
        })?;
    if output.status.success() {
        return Ok(());
    }
    Err(SandboxError::IdMapHelper {
        program: program.clone(),
        status: output.status.to_string(),
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    })
}

/// Read /etc/subuid-style file; a missing file means no ranges.
pub(crate) fn read_subid_file(
    path: &str,
    name: Option<&str>,
    id: u32,
) -> io::Result<Option<SubidRange>> {
    match fs::read_to_string(path) {
        Ok(content) => Ok(parse_subid(&content, name, id)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::UserNamespaces;

    const SUBID: &str = "# comment\nalice:100000:65536\nbob:0:0\n1001:300000:100000\n";

    fn caps(euid: u32, helpers: bool, ranges: bool) -> Capabilities {
        Capabilities {
            euid,
            egid: euid + 1,
            user_name: Some("bob".into()),
            user_namespaces: UserNamespaces::NotProbed,
            newuidmap: helpers.then(|| PathBuf::from("/usr/bin/newuidmap")),
            newgidmap: helpers.then(|| PathBuf::from("/usr/bin/newgidmap")),
            subuid: ranges.then_some(SubidRange {
                start: 100000,
                count: 65536,
            }),
            subgid: ranges.then_some(SubidRange {
                start: 200000,
                count: 1000,
            }),
        }
    }

    #[test]
    fn subid_lines_match_by_name_or_uid_and_skip_empty_ranges() {
        assert_eq!(
            parse_subid(SUBID, Some("alice"), 1000),
            Some(SubidRange {
                start: 100000,
                count: 65536
            })
        );
        // bob's range is empty; his uid 1001 has a numeric entry.
        assert_eq!(
            parse_subid(SUBID, Some("bob"), 1001),
            Some(SubidRange {
                start: 300000,
                count: 100000
            })
        );
        assert_eq!(parse_subid(SUBID, Some("carol"), 1002), None);
        assert_eq!(parse_subid("garbage\nx:y:z\n", Some("x"), 1), None);
    }

    #[test]
    fn auto_as_root_is_the_identity_map() {
        let mapping = IdMapping::choose(&caps(0, true, true), IdMap::Auto).unwrap();
        assert_eq!(mapping, IdMapping::Identity);
        assert_eq!(mapping.uid_map(), "0 0 4294967295\n");
        assert_eq!(mapping.gid_map(), "0 0 4294967295\n");
        assert!(mapping.setgroups_allowed());
        assert!(mapping.helper_commands(42).is_empty());
        mapping
            .check_user(&UserSpec {
                uid: 70000,
                gid: 5,
                additional_gids: vec![],
            })
            .unwrap();
    }

    #[test]
    fn auto_with_ranges_and_helpers_uses_subordinate_ids() {
        let mapping = IdMapping::choose(&caps(1000, true, true), IdMap::Auto).unwrap();
        assert_eq!(mapping.uid_map(), "0 1000 1\n1 100000 65536\n");
        // The gid range only has 1000 ids, so only 1000 are mapped.
        assert_eq!(mapping.gid_map(), "0 1001 1\n1 200000 1000\n");
        assert!(mapping.setgroups_allowed());
        let commands = mapping.helper_commands(4242);
        assert_eq!(
            commands,
            vec![
                (
                    PathBuf::from("/usr/bin/newuidmap"),
                    ["4242", "0", "1000", "1", "1", "100000", "65536"]
                        .map(String::from)
                        .to_vec()
                ),
                (
                    PathBuf::from("/usr/bin/newgidmap"),
                    ["4242", "0", "1001", "1", "1", "200000", "1000"]
                        .map(String::from)
                        .to_vec()
                ),
            ]
        );
        mapping
            .check_user(&UserSpec {
                uid: 1000,
                gid: 1000,
                additional_gids: vec![27],
            })
            .unwrap();
        let err = mapping
            .check_user(&UserSpec {
                uid: 0,
                gid: 0,
                additional_gids: vec![5000],
            })
            .unwrap_err();
        assert!(
            matches!(
                err,
                SandboxError::IdNotMapped {
                    kind: "gid",
                    id: 5000,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn auto_without_helpers_or_ranges_falls_back_to_a_single_mapping() {
        for (helpers, ranges) in [(false, true), (true, false)] {
            let mapping = IdMapping::choose(&caps(1000, helpers, ranges), IdMap::Auto).unwrap();
            assert_eq!(
                mapping,
                IdMapping::Single {
                    uid: 1000,
                    gid: 1001
                }
            );
            assert_eq!(mapping.uid_map(), "0 1000 1\n");
            assert_eq!(mapping.gid_map(), "0 1001 1\n");
            assert!(!mapping.setgroups_allowed());
        }
    }

    #[test]
    fn single_maps_only_root_and_names_the_fix() {
        let mapping = IdMapping::choose(&caps(1000, true, true), IdMap::Single).unwrap();
        mapping.check_user(&UserSpec::default()).unwrap();
        let err = mapping
            .check_user(&UserSpec {
                uid: 1000,
                gid: 0,
                additional_gids: vec![],
            })
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "uid 1000 is not mapped in the user namespace (single mapping of container 0 to uid 1000); \
             configure /etc/subuid and /etc/subgid and install newuidmap/newgidmap"
        );
    }

    #[test]
    fn explicit_subid_reports_what_is_missing() {
        let err = IdMapping::choose(&caps(1000, false, true), IdMap::Subid).unwrap_err();
        assert!(
            err.to_string().contains("install the uidmap package"),
            "{err}"
        );
        let err = IdMapping::choose(&caps(1000, true, false), IdMap::Subid).unwrap_err();
        assert_eq!(
            err.to_string(),
            "subordinate id mapping unavailable for uid 1000: no range for this user in /etc/subuid"
        );
    }
}
