//! Base images that are not in the store yet: the pull policy and the fetcher the
//! caller plugs in. The build stays synchronous and knows nothing about registries:
//! the CLI implements [`ImageFetcher`] with its registry client.

use std::collections::HashSet;
use std::sync::Mutex;

use hoist_oci::{Platform, Reference};
use hoist_store::Store;

use crate::error::{BuildError, Location};

/// When a base image (`FROM`, `COPY --from=image`, `RUN --mount=from=image`) is fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullPolicy {
    /// Fetch every base image, even when the store has it (to pick up a moved tag).
    Always,
    /// Fetch only base images the store lacks (for the target platform).
    #[default]
    Missing,
    /// Never fetch: a missing base image fails the build.
    Never,
}

/// Why a fetch failed; the CLI downcasts it for hints.
pub type FetchError = Box<dyn std::error::Error + Send + Sync>;

/// Brings an image into the store.
pub trait ImageFetcher: Send + Sync {
    /// Fetches `r` for `platform` into `store`, named `r`. Called at most once per
    /// reference and platform in a build, and only when the [`PullPolicy`] asks for it.
    fn fetch(&self, store: &Store, r: &Reference, platform: &Platform) -> Result<(), FetchError>;
}

/// Applies the policy once per image for one build.
pub(crate) struct Bases<'a> {
    fetcher: Option<&'a dyn ImageFetcher>,
    policy: PullPolicy,
    checked: Mutex<HashSet<(String, String)>>,
}

impl<'a> Bases<'a> {
    pub(crate) fn new(fetcher: Option<&'a dyn ImageFetcher>, policy: PullPolicy) -> Self {
        Bases {
            fetcher,
            policy,
            checked: Mutex::new(HashSet::new()),
        }
    }

    /// Makes sure `r` is in the store when the policy and the fetcher allow; a base
    /// that stays missing is reported by the caller ([`BuildError::BaseNotFound`]).
    pub(crate) fn ensure(
        &self,
        store: &Store,
        r: &Reference,
        platform: &Platform,
        at: &Location,
    ) -> Result<(), BuildError> {
        let Some(fetcher) = self.fetcher else {
            return Ok(());
        };
        if self.policy == PullPolicy::Never {
            return Ok(());
        }
        let key = (r.to_string(), platform.to_string());
        {
            let checked = self
                .checked
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if checked.contains(&key) {
                return Ok(());
            }
        }
        // A name whose platform or blobs are absent (a partly pulled index) counts as
        // missing; only a fully resolvable image is "present".
        let present = matches!(store.resolve_image(r, platform), Ok(Some(_)));
        if self.policy == PullPolicy::Always || !present {
            tracing::debug!(reference = %r, %platform, policy = ?self.policy, "fetching base image");
            fetcher
                .fetch(store, r, platform)
                .map_err(|source| BuildError::BasePull {
                    at: at.clone(),
                    reference: r.to_string(),
                    source,
                })?;
        }
        self.checked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting(AtomicUsize);

    impl ImageFetcher for Counting {
        fn fetch(&self, _: &Store, r: &Reference, _: &Platform) -> Result<(), FetchError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Err(format!("no registry for {r}").into())
        }
    }

    fn at() -> Location {
        Location {
            file: "Dockerfile".into(),
            line: 1,
            column: 1,
        }
    }

    #[test]
    fn policy_decides_when_the_fetcher_runs() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let r = Reference::parse("127.0.0.1:1/absent:1").unwrap();
        let p = Platform::host();

        let f = Counting(AtomicUsize::new(0));
        let never = Bases::new(Some(&f), PullPolicy::Never);
        never.ensure(&store, &r, &p, &at()).unwrap();
        assert_eq!(f.0.load(Ordering::SeqCst), 0);

        let missing = Bases::new(Some(&f), PullPolicy::Missing);
        let e = missing.ensure(&store, &r, &p, &at()).unwrap_err();
        assert_eq!(f.0.load(Ordering::SeqCst), 1);
        assert!(
            matches!(&e, BuildError::BasePull { reference, .. } if reference == &r.to_string())
        );
        let source = std::error::Error::source(&e).unwrap().to_string();
        assert!(source.contains("no registry for"), "{source}");

        let none = Bases::new(None, PullPolicy::Always);
        none.ensure(&store, &r, &p, &at()).unwrap();
    }
}
