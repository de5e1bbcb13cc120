//! Copy endpoints (`REGISTRY/REPO[:TAG|@DIGEST]`, `oci:DIR[:NAME]`,
//! `oci-archive:FILE`, `docker-archive:FILE`, `store:REF`) and [`copy`] between any two.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use hoist_oci::spec::Descriptor;
use hoist_oci::{Platform, Reference};
use hoist_registry::Client;
use hoist_store::Store;

use crate::TransferError;
use crate::copy::{Copied, CopyOptions, copy_to_registry, copy_to_store};
use crate::source::{ImageSource, LayoutSource, RegistrySource};

/// One side of a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A registry repository; the reference may lack a tag (see [`copy`]).
    Registry(Reference),
    /// An OCI image layout directory, optionally naming the image by its
    /// `org.opencontainers.image.ref.name` (a tag).
    OciDir {
        /// The directory.
        path: PathBuf,
        /// The entry's name (default: the only entry; `latest` when writing).
        name: Option<String>,
    },
    /// An oci-archive tar file.
    OciArchive(PathBuf),
    /// A docker-archive tar file (`docker save` / `docker load`).
    DockerArchive(PathBuf),
    /// A name in the local store.
    Store(Reference),
}

impl Endpoint {
    /// Parses `oci:DIR[:NAME]`, `oci-archive:FILE`, `docker-archive:FILE`, `store:REF`,
    /// or a registry reference (optionally prefixed `docker://`).
    pub fn parse(input: &str) -> Result<Self, TransferError> {
        let bad = |reason: String| TransferError::Endpoint {
            input: input.to_string(),
            reason,
        };
        let path = |p: &str| {
            if p.is_empty() {
                Err(bad("missing path".into()))
            } else {
                Ok(PathBuf::from(p))
            }
        };
        if let Some(rest) = input.strip_prefix("oci:") {
            let (dir, name) = match rest.split_once(':') {
                Some((d, n)) if !n.is_empty() => (d, Some(n.to_string())),
                Some((d, _)) => (d, None),
                None => (rest, None),
            };
            return Ok(Endpoint::OciDir {
                path: path(dir)?,
                name,
            });
        }
        if let Some(rest) = input.strip_prefix("oci-archive:") {
            return Ok(Endpoint::OciArchive(path(rest)?));
        }
        if let Some(rest) = input.strip_prefix("docker-archive:") {
            return Ok(Endpoint::DockerArchive(path(rest)?));
        }
        if let Some(rest) = input.strip_prefix("store:") {
            return Reference::parse(rest)
                .map(Endpoint::Store)
                .map_err(|e| bad(e.to_string()));
        }
        let r = input.strip_prefix("docker://").unwrap_or(input);
        Reference::parse_name_only(r)
            .map(Endpoint::Registry)
            .map_err(|e| bad(e.to_string()))
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Registry(r) => write!(f, "{r}"),
            Endpoint::OciDir { path, name: None } => write!(f, "oci:{}", path.display()),
            Endpoint::OciDir {
                path,
                name: Some(n),
            } => write!(f, "oci:{}:{n}", path.display()),
            Endpoint::OciArchive(p) => write!(f, "oci-archive:{}", p.display()),
            Endpoint::DockerArchive(p) => write!(f, "docker-archive:{}", p.display()),
            Endpoint::Store(r) => write!(f, "store:{r}"),
        }
    }
}

/// What [`copy`] works with.
#[derive(Debug, Clone)]
pub struct CopyContext {
    /// Reads a registry source (its credentials, TLS settings and download limit).
    pub src_client: Client,
    /// Writes a registry destination (its credentials, TLS settings and upload limit).
    pub dest_client: Client,
    /// The local store: `store:` endpoints, and temporary layouts for archives.
    pub store: Store,
}

/// Copies `src` to `dest`.
///
/// Registry to registry streams blobs from one to the other (mounting within one
/// registry) without the disk; see [`copy_to_registry`]. Archives are read through a
/// temporary layout in the store's work directory and written from one. A registry
/// destination without tag takes the source's tag, or is written by digest. A
/// docker-archive holds one platform: without [`CopyOptions::platform`], an index
/// source contributes the host's.
pub async fn copy(
    src: &Endpoint,
    dest: &Endpoint,
    ctx: &CopyContext,
    opts: &CopyOptions,
) -> Result<Copied, TransferError> {
    let _lease = ctx.store.lock_shared()?;
    let source = open_source(src, ctx)?;
    let src_ref = match src {
        Endpoint::Registry(r) | Endpoint::Store(r) => Some(r.clone()),
        _ => None,
    };
    match dest {
        Endpoint::Registry(r) => {
            let r = match (r.tag(), r.digest(), src_ref.as_ref().and_then(|s| s.tag())) {
                (None, None, Some(t)) => r.with_tag(t).map_err(|e| TransferError::Endpoint {
                    input: dest.to_string(),
                    reason: e.to_string(),
                })?,
                _ => r.clone(),
            };
            copy_to_registry(source, &ctx.dest_client, &r, opts).await
        }
        Endpoint::Store(r) => copy_to_store(source, &ctx.store, Some(r), opts).await,
        Endpoint::OciDir { .. } | Endpoint::OciArchive(_) | Endpoint::DockerArchive(_) => {
            let mut opts = opts.clone();
            if matches!(dest, Endpoint::DockerArchive(_)) && opts.platform.is_none() {
                opts.platform = Some(Platform::host());
            }
            let name = archive_name(dest, src_ref.as_ref())?;
            let work = ctx.store.work_dir("copy-")?;
            let tmp = Store::open(work.path())?;
            let copied = copy_to_store(source, &tmp, Some(&name), &opts).await?;
            let images: Vec<(Reference, Descriptor)> = vec![(name, copied.descriptor.clone())];
            let dest = dest.clone();
            tokio::task::spawn_blocking(move || {
                let res = match &dest {
                    Endpoint::OciDir { path, .. } => {
                        hoist_store::archive::export_oci_dir(&tmp, &images, path)
                    }
                    Endpoint::OciArchive(p) => {
                        hoist_store::archive::export_oci_archive(&tmp, &images, p)
                    }
                    Endpoint::DockerArchive(p) => {
                        hoist_store::archive::export_docker_archive(&tmp, &images, p)
                    }
                    _ => Ok(()),
                };
                drop(work);
                res
            })
            .await
            .map_err(|e| TransferError::Task(e.to_string()))??;
            Ok(copied)
        }
    }
}

/// The name an image gets in a written layout or archive: the source's repository
/// with the `oci:DIR:NAME` tag, else the source's name, else `localhost/image:latest`.
fn archive_name(dest: &Endpoint, src: Option<&Reference>) -> Result<Reference, TransferError> {
    let bad = |e: hoist_oci::OciError| TransferError::Endpoint {
        input: dest.to_string(),
        reason: e.to_string(),
    };
    let base = match src {
        Some(r) => Reference::parse(&r.name()).map_err(bad)?,
        None => Reference::parse("localhost/image").map_err(bad)?,
    };
    let tag = match dest {
        Endpoint::OciDir { name: Some(n), .. } => n.clone(),
        _ => src
            .and_then(|r| r.tag())
            .unwrap_or(hoist_oci::DEFAULT_TAG)
            .to_string(),
    };
    base.with_tag(&tag).map_err(bad)
}

fn open_source(src: &Endpoint, ctx: &CopyContext) -> Result<Arc<dyn ImageSource>, TransferError> {
    Ok(match src {
        Endpoint::Registry(r) => {
            let r = if r.tag().is_none() && r.digest().is_none() {
                Reference::parse(&r.to_string()).map_err(|e| TransferError::Endpoint {
                    input: src.to_string(),
                    reason: e.to_string(),
                })?
            } else {
                r.clone()
            };
            Arc::new(RegistrySource::new(ctx.src_client.clone(), r))
        }
        Endpoint::OciDir { path, name } => Arc::new(LayoutSource::open_dir(path, name.as_deref())?),
        Endpoint::Store(r) => {
            let desc = ctx
                .store
                .resolve(r)?
                .ok_or_else(|| TransferError::NotInStore {
                    reference: r.to_string(),
                })?;
            Arc::new(LayoutSource::new(ctx.store.root(), desc, src.to_string()))
        }
        Endpoint::OciArchive(p) | Endpoint::DockerArchive(p) => {
            let work = Arc::new(ctx.store.work_dir("copy-")?);
            let tmp = Store::open(work.path())?;
            let names = hoist_store::archive::import_archive(&tmp, p)?;
            let Some(name) = names.first() else {
                return Err(TransferError::Endpoint {
                    input: src.to_string(),
                    reason: "the archive holds no named image".into(),
                });
            };
            let desc = tmp
                .resolve(name)?
                .ok_or_else(|| TransferError::NotInStore {
                    reference: name.to_string(),
                })?;
            Arc::new(LayoutSource::in_temp_dir(work, desc, src.to_string()))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_endpoint_kind() {
        assert_eq!(
            Endpoint::parse("oci:/tmp/l:v1").unwrap(),
            Endpoint::OciDir {
                path: "/tmp/l".into(),
                name: Some("v1".into())
            }
        );
        assert_eq!(
            Endpoint::parse("oci:/tmp/l").unwrap(),
            Endpoint::OciDir {
                path: "/tmp/l".into(),
                name: None
            }
        );
        assert_eq!(
            Endpoint::parse("docker-archive:/x.tar").unwrap(),
            Endpoint::DockerArchive("/x.tar".into())
        );
        assert_eq!(
            Endpoint::parse("oci-archive:/x.tar").unwrap(),
            Endpoint::OciArchive("/x.tar".into())
        );
        let Endpoint::Store(r) = Endpoint::parse("store:demo").unwrap() else {
            panic!("not a store endpoint");
        };
        assert_eq!(r.to_string(), "docker.io/library/demo:latest");
        let Endpoint::Registry(r) = Endpoint::parse("docker://localhost:5000/a/b").unwrap() else {
            panic!("not a registry endpoint");
        };
        assert_eq!(
            (r.domain(), r.repository(), r.tag()),
            ("localhost:5000", "a/b", None)
        );
        assert!(Endpoint::parse("oci:").is_err());
        assert!(Endpoint::parse("docker-archive:").is_err());
        assert!(Endpoint::parse("Not A Ref").is_err());
    }
}
