//! Content-addressed blobs: streamed, hashed while written, published by rename.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use hoist_oci::spec::Descriptor;
use hoist_oci::{Digest, DigestAlgorithm, Hasher, MediaType, sha256_of};
use serde::Serialize;
use tempfile::NamedTempFile;

use crate::{Store, StoreError, fsutil};

const WRITE_BUFFER: usize = 256 << 10;

/// A blob being written to `ROOT/tmp/`. Bytes are hashed as they pass;
/// [`BlobWriter::commit`] fsyncs and renames the file into `blobs/sha256/<hex>`.
/// Dropping an uncommitted writer deletes its temp file.
pub struct BlobWriter {
    file: BufWriter<NamedTempFile>,
    /// `None` for a writer whose producer hashes the bytes itself.
    hasher: Option<Hasher>,
    written: u64,
    blobs_dir: PathBuf,
}

impl std::fmt::Debug for BlobWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobWriter")
            .field("temp", &self.file.get_ref().path())
            .field("written", &self.written)
            .finish()
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl BlobWriter {
    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Publishes the blob under its sha256 digest; returns the digest and size.
    /// When the blob already exists the temp file is simply dropped.
    pub fn commit(self) -> Result<(Digest, u64), StoreError> {
        let (tmp, digest, size) = self.finish()?;
        let digest = digest.ok_or(StoreError::UnhashedCommit)?;
        publish(tmp, &digest, size)
    }

    /// Like [`BlobWriter::commit`], but fails with [`StoreError::DigestMismatch`]
    /// (deleting the temp file) unless the content hashes to `expected`.
    pub fn commit_expect(self, expected: &Digest) -> Result<u64, StoreError> {
        if *expected.algorithm() != DigestAlgorithm::Sha256 {
            return Err(StoreError::UnsupportedDigest {
                digest: expected.clone(),
            });
        }
        let (tmp, digest, size) = self.finish()?;
        let Some(digest) = digest else {
            // The producer hashed these bytes in the same pass (see
            // `Store::blob_writer_hashed_by_producer`): its digest is the blob's.
            return publish(tmp, expected, size).map(|(_, n)| n);
        };
        if &digest != expected {
            // `tmp` drops here and removes the temp file.
            return Err(StoreError::DigestMismatch {
                expected: expected.clone(),
                actual: digest,
            });
        }
        publish(tmp, &digest, size).map(|(_, n)| n)
    }

    fn finish(self) -> Result<(Published, Option<Digest>, u64), StoreError> {
        let BlobWriter {
            file,
            hasher,
            written,
            blobs_dir,
        } = self;
        let tmp = file.into_inner().map_err(|e| {
            let (source, w) = e.into_parts();
            StoreError::Io {
                op: "write",
                path: w.get_ref().path().to_path_buf(),
                source,
            }
        })?;
        Ok((
            Published { tmp, blobs_dir },
            hasher.map(Hasher::finish),
            written,
        ))
    }
}

struct Published {
    tmp: NamedTempFile,
    blobs_dir: PathBuf,
}

fn publish(p: Published, digest: &Digest, size: u64) -> Result<(Digest, u64), StoreError> {
    let dest = p.blobs_dir.join(digest.digest());
    if dest.exists() {
        // Content addressed: the existing file has the same bytes; `p.tmp` is removed on drop.
        tracing::trace!(%digest, "blob already present");
        return Ok((digest.clone(), size));
    }
    let path = p.tmp.path().to_path_buf();
    p.tmp
        .as_file()
        .sync_all()
        .map_err(StoreError::io("fsync", &path))?;
    fsutil::set_readable(p.tmp.as_file(), &path)?;
    p.tmp.persist(&dest).map_err(|e| StoreError::Io {
        op: "rename into",
        path: dest.clone(),
        source: e.error,
    })?;
    fsutil::sync_dir(&p.blobs_dir)?;
    tracing::debug!(%digest, size, "blob committed");
    Ok((digest.clone(), size))
}

impl Store {
    /// A writer for a new blob; its temp file lives under `ROOT/tmp/`.
    /// Hold a [`crate::StoreLease`] until the blob is reachable from a name.
    pub fn blob_writer(&self) -> Result<BlobWriter, StoreError> {
        self.new_blob_writer(Some(Hasher::new()))
    }

    /// A writer for a blob whose producer computes the sha256 of exactly the bytes it
    /// writes, in the same pass (hoist-layer's `write_layer` does). It skips a second hash
    /// of the same bytes (the most expensive step of a build on CPUs without SHA-NI).
    /// Commit it with [`BlobWriter::commit_expect`] and the producer's digest;
    /// [`BlobWriter::commit`] refuses it.
    pub fn blob_writer_hashed_by_producer(&self) -> Result<BlobWriter, StoreError> {
        self.new_blob_writer(None)
    }

    fn new_blob_writer(&self, hasher: Option<Hasher>) -> Result<BlobWriter, StoreError> {
        let dir = self.tmp_dir();
        let tmp = tempfile::Builder::new()
            .prefix("blob-")
            .tempfile_in(&dir)
            .map_err(StoreError::io("create temp file in", &dir))?;
        Ok(BlobWriter {
            file: BufWriter::with_capacity(WRITE_BUFFER, tmp),
            hasher,
            written: 0,
            blobs_dir: self.root().join("blobs/sha256"),
        })
    }

    /// Stores a small blob from memory (JSON documents, tests).
    pub fn put_blob(&self, bytes: &[u8]) -> Result<(Digest, u64), StoreError> {
        let digest = sha256_of(bytes);
        if self.has_blob(&digest) {
            return Ok((digest, bytes.len() as u64));
        }
        let mut w = self.blob_writer()?;
        w.write_all(bytes)
            .map_err(StoreError::io("write", self.tmp_dir()))?;
        w.commit()
    }

    /// Serialises `value` as compact JSON with object keys sorted (stable digests even
    /// for `HashMap` fields such as annotations), stores it, and returns its descriptor
    /// together with the exact bytes written.
    pub fn put_json<T: Serialize>(
        &self,
        media_type: MediaType,
        value: &T,
    ) -> Result<(Descriptor, Vec<u8>), StoreError> {
        let bytes = fsutil::canonical_json(value).map_err(|source| StoreError::Json {
            what: "document",
            location: media_type.to_string(),
            source,
        })?;
        let (digest, size) = self.put_blob(&bytes)?;
        Ok((Descriptor::new(media_type, size, digest), bytes))
    }

    /// True when the blob is present.
    pub fn has_blob(&self, d: &Digest) -> bool {
        self.blob_path(d).is_file()
    }

    /// Where a blob lives (whether or not it is present).
    pub fn blob_path(&self, d: &Digest) -> PathBuf {
        self.root()
            .join("blobs")
            .join(d.algorithm().as_ref())
            .join(d.digest())
    }

    /// Opens a blob for streaming.
    pub fn open_blob(&self, d: &Digest) -> Result<File, StoreError> {
        let path = self.blob_path(d);
        File::open(&path).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                StoreError::BlobNotFound {
                    digest: d.clone(),
                    root: self.root().to_path_buf(),
                }
            } else {
                StoreError::Io {
                    op: "open",
                    path,
                    source: e,
                }
            }
        })
    }

    /// Reads a blob of at most `max` bytes (for JSON documents) and checks its digest.
    pub fn read_blob(&self, d: &Digest, max: u64) -> Result<Vec<u8>, StoreError> {
        let f = self.open_blob(d)?;
        let bytes = fsutil::read_bounded_from(f, "blob", d.as_ref(), max)?;
        if *d.algorithm() == DigestAlgorithm::Sha256 {
            let actual = sha256_of(&bytes);
            if &actual != d {
                return Err(StoreError::DigestMismatch {
                    expected: d.clone(),
                    actual,
                });
            }
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{blob_count, temp_count};

    #[test]
    fn writer_hashes_and_publishes() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let mut w = s.blob_writer().unwrap();
        w.write_all(b"hello ").unwrap();
        w.write_all(b"world").unwrap();
        assert_eq!(w.written(), 11);
        let (d, n) = w.commit().unwrap();
        assert_eq!(d, sha256_of(b"hello world"));
        assert_eq!(n, 11);
        assert!(s.has_blob(&d));
        assert_eq!(std::fs::read(s.blob_path(&d)).unwrap(), b"hello world");
        assert_eq!(s.read_blob(&d, 100).unwrap(), b"hello world");
        assert_eq!(temp_count(&s), 0);
        // Same content again: no error, still one blob, temp removed.
        let mut w = s.blob_writer().unwrap();
        w.write_all(b"hello world").unwrap();
        assert_eq!(w.commit().unwrap().0, d);
        assert_eq!(blob_count(&s), 1);
        assert_eq!(temp_count(&s), 0);
    }

    #[test]
    fn producer_hashed_writer_publishes_under_the_given_digest() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let mut w = s.blob_writer_hashed_by_producer().unwrap();
        w.write_all(b"layer bytes").unwrap();
        let d = sha256_of(b"layer bytes");
        assert_eq!(w.commit_expect(&d).unwrap(), 11);
        assert_eq!(s.read_blob(&d, 100).unwrap(), b"layer bytes");
        let mut w = s.blob_writer_hashed_by_producer().unwrap();
        w.write_all(b"x").unwrap();
        assert!(matches!(w.commit(), Err(StoreError::UnhashedCommit)));
        assert_eq!(temp_count(&s), 0);
    }

    #[test]
    fn dropped_writer_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let mut w = s.blob_writer().unwrap();
        w.write_all(&vec![7u8; 1 << 20]).unwrap();
        assert_eq!(temp_count(&s), 1);
        drop(w);
        assert_eq!(temp_count(&s), 0);
        assert_eq!(blob_count(&s), 0);
    }

    #[test]
    fn commit_expect_rejects_mismatch_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let wrong = sha256_of(b"something else");
        let mut w = s.blob_writer().unwrap();
        w.write_all(b"payload").unwrap();
        let e = w.commit_expect(&wrong).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains(wrong.as_ref()), "{msg}");
        assert!(msg.contains(sha256_of(b"payload").as_ref()), "{msg}");
        assert_eq!(blob_count(&s), 0);
        assert_eq!(temp_count(&s), 0);
        let mut w = s.blob_writer().unwrap();
        w.write_all(b"payload").unwrap();
        assert_eq!(w.commit_expect(&sha256_of(b"payload")).unwrap(), 7);
        assert_eq!(blob_count(&s), 1);
    }

    #[test]
    fn put_json_returns_exact_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let (desc, bytes) = s
            .put_json(MediaType::ImageConfig, &serde_json::json!({"a": 1}))
            .unwrap();
        assert_eq!(bytes, br#"{"a":1}"#);
        assert_eq!(desc.digest(), &sha256_of(&bytes));
        assert_eq!(desc.size(), 7);
        assert_eq!(desc.media_type(), &MediaType::ImageConfig);
        assert_eq!(s.read_blob(desc.digest(), 1024).unwrap(), bytes);
    }

    #[test]
    fn missing_oversized_and_corrupt_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let missing = sha256_of(b"nope");
        let e = s.open_blob(&missing).unwrap_err();
        assert!(matches!(e, StoreError::BlobNotFound { .. }));
        assert!(e.to_string().contains(missing.as_ref()));
        let (d, _) = s.put_blob(&[1u8; 100]).unwrap();
        assert!(matches!(
            s.read_blob(&d, 99),
            Err(StoreError::TooLarge { max: 99, .. })
        ));
        std::fs::write(s.blob_path(&d), [2u8; 100]).unwrap();
        assert!(matches!(
            s.read_blob(&d, 1000),
            Err(StoreError::DigestMismatch { .. })
        ));
    }
}
