//! Credentials from docker `config.json` and containers `auth.json`, and `hoist login`'s
//! writer. Credential helpers (`credHelpers`, `credsStore`) run only when the user
//! allows them ([`DockerConfigCredentials::allow_credential_helpers`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value};

use crate::RegistryError;
use crate::credential::{BoxFuture, Credential, CredentialProvider};

/// The key Docker uses for Docker Hub in `auths`.
pub const DOCKER_HUB_AUTH_KEY: &str = "https://index.docker.io/v1/";

/// Reads credentials from docker/podman auth files, first match wins.
///
/// Search order ([`DockerConfigCredentials::from_env`]): `$DOCKER_CONFIG/config.json`
/// (or `~/.docker/config.json`), then `$REGISTRY_AUTH_FILE`, then
/// `$XDG_RUNTIME_DIR/containers/auth.json`. Missing files are skipped.
#[derive(Debug, Clone, Default)]
pub struct DockerConfigCredentials {
    paths: Vec<PathBuf>,
    /// Run `docker-credential-*` helpers named by the files (default: no).
    allow_helpers: bool,
}

impl DockerConfigCredentials {
    /// The standard search path, from the environment.
    pub fn from_env() -> Self {
        Self {
            paths: default_paths(),
            allow_helpers: false,
        }
    }

    /// An explicit list of files, searched in order.
    pub fn with_paths(paths: Vec<PathBuf>) -> Self {
        Self {
            paths,
            allow_helpers: false,
        }
    }

    /// Whether `credHelpers`/`credsStore` executables may run. They run with the user's
    /// full rights, so the default is no: lookups that need one fail with
    /// [`RegistryError::CredentialHelperDisabled`] instead.
    pub fn allow_credential_helpers(mut self, allow: bool) -> Self {
        self.allow_helpers = allow;
        self
    }

    /// The files searched, in order.
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// Looks `registry` up synchronously (file reads, and helpers when allowed).
    ///
    /// An entry in `credHelpers` for the registry, or a `credsStore` together with an
    /// empty `auths` entry, runs the helper when allowed and otherwise gives
    /// [`RegistryError::CredentialHelperDisabled`]. With helpers allowed, a `credsStore`
    /// is also asked for registries the files do not mention.
    pub fn lookup(&self, registry: &str) -> Result<Credential, RegistryError> {
        let want = normalize_registry_key(registry);
        let mut store_helper = None;
        for path in &self.paths {
            let Some(doc) = read_json(path)? else {
                continue;
            };
            if store_helper.is_none() {
                store_helper = doc
                    .get("credsStore")
                    .and_then(Value::as_str)
                    .map(str::to_string);
            }
            if let Some(helper) = doc
                .get("credHelpers")
                .and_then(Value::as_object)
                .and_then(|m| m.iter().find(|(k, _)| normalize_registry_key(k) == want))
                .and_then(|(_, v)| v.as_str())
            {
                if self.allow_helpers {
                    return crate::cred_helper::get(helper, &helper_server(registry));
                }
                return Err(RegistryError::CredentialHelperDisabled {
                    registry: registry.to_string(),
                    helper: helper.to_string(),
                    entry: "credHelpers",
                    path: path.clone(),
                });
            }
            let entry = doc
                .get("auths")
                .and_then(Value::as_object)
                .and_then(|m| m.iter().find(|(k, _)| normalize_registry_key(k) == want))
                .map(|(_, v)| v);
            if let Some(entry) = entry {
                if let Some(c) = entry_credential(path, entry)? {
                    tracing::debug!(registry, path = %path.display(), "credentials from auth file");
                    return Ok(c);
                }
                if let Some(store) = doc.get("credsStore").and_then(Value::as_str) {
                    if self.allow_helpers {
                        return crate::cred_helper::get(store, &helper_server(registry));
                    }
                    return Err(RegistryError::CredentialHelperDisabled {
                        registry: registry.to_string(),
                        helper: store.to_string(),
                        entry: "credsStore",
                        path: path.clone(),
                    });
                }
            }
        }
        match store_helper {
            Some(store) if self.allow_helpers => {
                crate::cred_helper::get(&store, &helper_server(registry))
            }
            _ => Ok(Credential::Anonymous),
        }
    }
}

/// The server address docker hands to helpers: Docker Hub's legacy URL, else the host.
fn helper_server(registry: &str) -> String {
    match normalize_registry_key(registry).as_str() {
        "docker.io" => DOCKER_HUB_AUTH_KEY.to_string(),
        host => host.to_string(),
    }
}

impl CredentialProvider for DockerConfigCredentials {
    fn credential<'a>(
        &'a self,
        registry: &'a str,
    ) -> BoxFuture<'a, Result<Credential, RegistryError>> {
        Box::pin(async move {
            if !self.allow_helpers {
                return self.lookup(registry);
            }
            // A helper is a process: keep it off the async workers.
            let me = self.clone();
            let registry = registry.to_string();
            let server = helper_server(&registry);
            match tokio::task::spawn_blocking(move || me.lookup(&registry)).await {
                Ok(found) => found,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(_) => Err(RegistryError::CredentialHelper {
                    helper: "lookup".into(),
                    server,
                    reason: "cancelled while the runtime shut down".into(),
                }),
            }
        })
    }
}

fn default_paths() -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(d) = std::env::var_os("DOCKER_CONFIG") {
        v.push(PathBuf::from(d).join("config.json"));
    } else if let Some(home) = std::env::var_os("HOME") {
        v.push(PathBuf::from(home).join(".docker/config.json"));
    }
    if let Some(f) = std::env::var_os("REGISTRY_AUTH_FILE") {
        v.push(PathBuf::from(f));
    }
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR") {
        v.push(PathBuf::from(d).join("containers/auth.json"));
    }
    v
}

/// The default file `hoist login` writes: `$DOCKER_CONFIG/config.json` or
/// `~/.docker/config.json`.
pub fn default_config_path() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(d).join("config.json"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker/config.json"))
}

/// Normalises an `auths` key or registry name to `host[:port]`: drops the scheme and any
/// path, and maps Docker Hub aliases to `docker.io`.
pub fn normalize_registry_key(key: &str) -> String {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = k.split('/').next().unwrap_or(k).to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".to_string()
        }
        _ => host,
    }
}

fn read_json(path: &Path) -> Result<Option<Map<String, Value>>, RegistryError> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(RegistryError::ConfigIo {
                path: path.to_path_buf(),
                action: "read",
                source,
            });
        }
    };
    if text.iter().all(u8::is_ascii_whitespace) {
        return Ok(Some(Map::new()));
    }
    match serde_json::from_slice::<Value>(&text) {
        Ok(Value::Object(m)) => Ok(Some(m)),
        Ok(_) => Err(RegistryError::ConfigInvalid {
            path: path.to_path_buf(),
            reason: "top level is not a JSON object".into(),
        }),
        Err(e) => Err(RegistryError::ConfigInvalid {
            path: path.to_path_buf(),
            // serde_json's message names line/column, never the content.
            reason: format!("invalid JSON at line {} column {}", e.line(), e.column()),
        }),
    }
}

fn entry_credential(path: &Path, entry: &Value) -> Result<Option<Credential>, RegistryError> {
    let s = |k: &str| {
        entry
            .get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    if let Some(t) = s("registrytoken") {
        return Ok(Some(Credential::RegistryToken(t.to_string())));
    }
    if let Some(t) = s("identitytoken") {
        return Ok(Some(Credential::IdentityToken(t.to_string())));
    }
    if let Some(a) = s("auth") {
        let bad = || RegistryError::ConfigInvalid {
            path: path.to_path_buf(),
            reason: "an auths entry's \"auth\" is not base64 of user:password".into(),
        };
        let raw = B64.decode(a.trim()).map_err(|_| bad())?;
        let text = String::from_utf8(raw).map_err(|_| bad())?;
        let (u, p) = text.split_once(':').ok_or_else(bad)?;
        return Ok(Some(Credential::Basic {
            username: u.to_string(),
            password: p.to_string(),
        }));
    }
    if let (Some(u), Some(p)) = (s("username"), s("password")) {
        return Ok(Some(Credential::Basic {
            username: u.to_string(),
            password: p.to_string(),
        }));
    }
    Ok(None)
}

/// Stores `username`/`password` for `registry` in `config_path` (docker format), keeping
/// every other key. The file is replaced atomically (temp file + rename) with mode 0600.
pub fn save_login(
    config_path: &Path,
    registry: &str,
    username: &str,
    password: &str,
) -> Result<(), RegistryError> {
    let mut doc = read_json(config_path)?.unwrap_or_default();
    let auths = doc
        .entry("auths")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(auths) = auths else {
        return Err(RegistryError::ConfigInvalid {
            path: config_path.to_path_buf(),
            reason: "\"auths\" is not an object".into(),
        });
    };
    let want = normalize_registry_key(registry);
    auths.retain(|k, _| normalize_registry_key(k) != want);
    let key = if want == "docker.io" {
        DOCKER_HUB_AUTH_KEY.to_string()
    } else {
        want
    };
    let mut entry = Map::new();
    entry.insert(
        "auth".into(),
        Value::String(B64.encode(format!("{username}:{password}"))),
    );
    auths.insert(key, Value::Object(entry));
    write_atomic(config_path, &Value::Object(doc))
}

/// Removes every `auths` entry for `registry`; true when one was removed.
pub fn remove_login(config_path: &Path, registry: &str) -> Result<bool, RegistryError> {
    let Some(mut doc) = read_json(config_path)? else {
        return Ok(false);
    };
    let want = normalize_registry_key(registry);
    let removed = match doc.get_mut("auths") {
        Some(Value::Object(auths)) => {
            let before = auths.len();
            auths.retain(|k, _| normalize_registry_key(k) != want);
            before != auths.len()
        }
        _ => false,
    };
    if removed {
        write_atomic(config_path, &Value::Object(doc))?;
    }
    Ok(removed)
}

fn write_atomic(path: &Path, doc: &Value) -> Result<(), RegistryError> {
    let io = |action: &'static str| {
        move |source| RegistryError::ConfigIo {
            path: path.to_path_buf(),
            action,
            source,
        }
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(io("create directory"))?;
    // tempfile creates the file with mode 0600 on unix.
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(io("create temporary file"))?;
    let text = serde_json::to_vec_pretty(doc).map_err(|e| RegistryError::ConfigInvalid {
        path: path.to_path_buf(),
        reason: format!("cannot serialise: {e}"),
    })?;
    tmp.write_all(&text).map_err(io("write"))?;
    tmp.write_all(b"\n").map_err(io("write"))?;
    tmp.as_file().sync_all().map_err(io("sync"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o600))
            .map_err(io("chmod"))?;
    }
    tmp.persist(path).map_err(|e| RegistryError::ConfigIo {
        path: path.to_path_buf(),
        action: "rename",
        source: e.error,
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn reads_auth_forms_and_normalises_keys() {
        let d = tempfile::tempdir().unwrap();
        let auth = B64.encode("alice:pw:with:colons");
        let p = write(
            d.path(),
            "config.json",
            &format!(
                r#"{{"auths":{{
                "https://index.docker.io/v1/":{{"auth":"{auth}"}},
                "https://r.example:5000/v1/":{{"username":"bob","password":"x"}},
                "id.example":{{"identitytoken":"idt"}},
                "tok.example":{{"registrytoken":"rt"}}}}}}"#
            ),
        );
        let c = DockerConfigCredentials::with_paths(vec![p]);
        assert_eq!(
            c.lookup("docker.io").unwrap(),
            Credential::Basic {
                username: "alice".into(),
                password: "pw:with:colons".into()
            }
        );
        assert_eq!(
            c.lookup("r.example:5000").unwrap(),
            Credential::Basic {
                username: "bob".into(),
                password: "x".into()
            }
        );
        assert_eq!(
            c.lookup("id.example").unwrap(),
            Credential::IdentityToken("idt".into())
        );
        assert_eq!(
            c.lookup("tok.example").unwrap(),
            Credential::RegistryToken("rt".into())
        );
        assert_eq!(c.lookup("other.example").unwrap(), Credential::Anonymous);
    }

    #[test]
    fn helpers_are_reported_not_run() {
        let d = tempfile::tempdir().unwrap();
        let p = write(
            d.path(),
            "config.json",
            r#"{"auths":{"a.example":{}},"credsStore":"desktop","credHelpers":{"gcr.io":"gcloud"}}"#,
        );
        let c = DockerConfigCredentials::with_paths(vec![p]);
        let e = c.lookup("gcr.io").unwrap_err();
        assert!(
            matches!(&e, RegistryError::CredentialHelperDisabled { helper, entry: "credHelpers", .. } if helper == "gcloud")
        );
        assert!(e.to_string().contains("docker-credential-gcloud"), "{e}");
        assert!(e.hint().unwrap().contains("--allow-credential-helpers"));
        let e = c.lookup("a.example").unwrap_err();
        assert!(matches!(
            e,
            RegistryError::CredentialHelperDisabled {
                entry: "credsStore",
                ..
            }
        ));
        assert_eq!(c.lookup("b.example").unwrap(), Credential::Anonymous);
    }

    #[test]
    fn later_files_are_searched() {
        let d = tempfile::tempdir().unwrap();
        let a = write(d.path(), "a.json", r#"{"auths":{}}"#);
        let b = write(
            d.path(),
            "b.json",
            &format!(
                r#"{{"auths":{{"q.io":{{"auth":"{}"}}}}}}"#,
                B64.encode("u:p")
            ),
        );
        let missing = d.path().join("missing.json");
        let c = DockerConfigCredentials::with_paths(vec![missing, a, b]);
        assert!(matches!(
            c.lookup("q.io").unwrap(),
            Credential::Basic { .. }
        ));
    }

    #[test]
    fn save_and_remove_keep_other_keys() {
        let d = tempfile::tempdir().unwrap();
        let p = write(
            d.path(),
            "config.json",
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"eDp5"},"keep.io":{"auth":"eDp5"}},"psFormat":"x"}"#,
        );
        save_login(&p, "docker.io", "me", "s3cret").unwrap();
        save_login(&p, "127.0.0.1:5000", "u", "p").unwrap();
        let doc: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        assert_eq!(doc["psFormat"], "x");
        assert_eq!(doc["auths"]["keep.io"]["auth"], "eDp5");
        assert_eq!(
            doc["auths"][DOCKER_HUB_AUTH_KEY]["auth"],
            B64.encode("me:s3cret")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let c = DockerConfigCredentials::with_paths(vec![p.clone()]);
        assert_eq!(
            c.lookup("127.0.0.1:5000").unwrap(),
            Credential::Basic {
                username: "u".into(),
                password: "p".into()
            }
        );
        assert!(remove_login(&p, "index.docker.io").unwrap());
        assert!(!remove_login(&p, "docker.io").unwrap());
        assert_eq!(c.lookup("docker.io").unwrap(), Credential::Anonymous);
        let fresh = d.path().join("sub/config.json");
        save_login(&fresh, "x.io", "a", "b").unwrap();
        assert!(fresh.exists());
    }

    #[test]
    fn invalid_json_error_has_no_content() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "c.json", r#"{"auths": {"x": "s3cret"#);
        let e = DockerConfigCredentials::with_paths(vec![p])
            .lookup("x")
            .unwrap_err();
        assert!(!e.to_string().contains("s3cret"));
    }
}
