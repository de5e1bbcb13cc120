//! Archive format sniffing and decompressing readers.

use std::io::{BufReader, Cursor, Read};

use crate::error::LayerError;

/// The compression of an archive stream, as sniffed from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArchiveCompression {
    /// An uncompressed tar.
    Tar,
    /// gzip (one or more members).
    Gzip,
    /// bzip2.
    Bzip2,
    /// xz.
    Xz,
    /// zstd (one or more frames).
    Zstd,
}

/// Bytes [`detect_compression`] needs to recognise a plain tar (a whole header block).
pub const DETECT_PREFIX_LEN: usize = 512;

/// Recognises the format of an archive from its first bytes (up to
/// [`DETECT_PREFIX_LEN`]; fewer suffice for compressed formats). `None` when
/// the bytes match no supported format.
pub fn detect_compression(prefix: &[u8]) -> Option<ArchiveCompression> {
    if prefix.starts_with(&[0x1f, 0x8b]) {
        Some(ArchiveCompression::Gzip)
    } else if prefix.starts_with(b"BZh") {
        Some(ArchiveCompression::Bzip2)
    } else if prefix.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Some(ArchiveCompression::Xz)
    } else if prefix.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some(ArchiveCompression::Zstd)
    } else if is_tar_header(prefix) {
        Some(ArchiveCompression::Tar)
    } else {
        None
    }
}

/// A ustar/GNU magic, or failing that a valid header checksum (v7 tars).
/// An all-zero block (an empty archive) also counts as tar.
fn is_tar_header(b: &[u8]) -> bool {
    if b.len() >= 263 && (&b[257..263] == b"ustar\0" || &b[257..263] == b"ustar ") {
        return true;
    }
    if b.len() < 512 {
        return false;
    }
    let block = &b[..512];
    if block.iter().all(|&x| x == 0) {
        return true;
    }
    let stored = std::str::from_utf8(&block[148..156])
        .ok()
        .map(|s| s.trim_matches(|c: char| c == ' ' || c == '\0'))
        .and_then(|s| u32::from_str_radix(s, 8).ok());
    let sum: u32 = block
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(x)
            }
        })
        .sum();
    stored == Some(sum)
}

/// Sniffs `reader` and returns the detected format and a reader of the
/// decompressed tar stream.
pub fn decompressor<'a, R: Read + 'a>(
    mut reader: R,
) -> Result<(ArchiveCompression, Box<dyn Read + 'a>), LayerError> {
    let head = read_head(&mut reader, DETECT_PREFIX_LEN).map_err(LayerError::ReadArchive)?;
    let kind = if head.is_empty() {
        // An empty stream is an empty tar.
        ArchiveCompression::Tar
    } else {
        detect_compression(&head).ok_or(LayerError::UnknownFormat)?
    };
    let buf = BufReader::with_capacity(256 * 1024, Cursor::new(head).chain(reader));
    let r: Box<dyn Read + 'a> = match kind {
        ArchiveCompression::Tar => Box::new(buf),
        ArchiveCompression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buf)),
        ArchiveCompression::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(buf)),
        ArchiveCompression::Xz => Box::new(lzma_rust2::XzReader::new(buf, true)),
        ArchiveCompression::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(buf).map_err(LayerError::ReadArchive)?,
        ),
    };
    Ok((kind, r))
}

/// Reads up to `n` bytes (fewer only at end of stream).
fn read_head<R: Read>(r: &mut R, n: usize) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(n);
    r.take(n as u64).read_to_end(&mut head)?;
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_magic_numbers() {
        assert_eq!(
            detect_compression(&[0x1f, 0x8b, 8]),
            Some(ArchiveCompression::Gzip)
        );
        assert_eq!(
            detect_compression(b"BZh91AY"),
            Some(ArchiveCompression::Bzip2)
        );
        assert_eq!(
            detect_compression(&[0xfd, b'7', b'z', b'X', b'Z', 0, 0]),
            Some(ArchiveCompression::Xz)
        );
        assert_eq!(
            detect_compression(&[0x28, 0xb5, 0x2f, 0xfd, 0]),
            Some(ArchiveCompression::Zstd)
        );
        assert_eq!(detect_compression(b"hello world"), None);
        assert_eq!(detect_compression(&[7u8; 512]), None);
    }

    #[test]
    fn sniffs_tar_by_magic_and_by_checksum() {
        let mut h = tar::Header::new_ustar();
        h.set_path("a").unwrap();
        h.set_size(0);
        h.set_cksum();
        assert_eq!(
            detect_compression(h.as_bytes()),
            Some(ArchiveCompression::Tar)
        );
        let mut old = tar::Header::new_old();
        old.set_path("a").unwrap();
        old.set_size(0);
        old.set_cksum();
        assert_eq!(
            detect_compression(old.as_bytes()),
            Some(ArchiveCompression::Tar)
        );
    }

    #[test]
    fn decompresses_each_format() {
        use std::io::Write;
        let data: Vec<u8> = (0..5000u32).flat_map(|i| i.to_le_bytes()).collect();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&data).unwrap();
        let gz = gz.finish().unwrap();
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        bz.write_all(&data).unwrap();
        let bz = bz.finish().unwrap();
        let mut xz =
            lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::default()).unwrap();
        xz.write_all(&data).unwrap();
        let xz = xz.finish().unwrap();
        let zs = zstd::encode_all(&data[..], 1).unwrap();
        for (blob, kind) in [
            (gz, ArchiveCompression::Gzip),
            (bz, ArchiveCompression::Bzip2),
            (xz, ArchiveCompression::Xz),
            (zs, ArchiveCompression::Zstd),
        ] {
            let (k, mut r) = decompressor(&blob[..]).unwrap();
            assert_eq!(k, kind);
            let mut out = Vec::new();
            r.read_to_end(&mut out).unwrap();
            assert_eq!(out, data, "{kind:?}");
        }
    }
}
