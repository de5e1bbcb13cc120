//! One gzip member per chunk, with incompressible stretches stored rather than
//! deflated.
//!
//! Layers often hold data that deflate cannot shrink: random bytes, already
//! compressed archives, images, fonts. Deflating them costs most of a build's CPU
//! and gains nothing (gzip -1 makes random data slightly *larger*). Each 64 KiB
//! block of a chunk is classified by its byte entropy; runs of blocks above
//! [`STORE_ENTROPY`] bits per byte go out as deflate *stored* blocks (a memcpy),
//! the rest through the compressor. The result is an ordinary gzip member that
//! every decoder reads. The decision depends only on the bytes, so output stays
//! deterministic; a chunk with no incompressible block is written exactly as a
//! plain one-call deflate would write it.

use std::io::Write;

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

use crate::error::LayerError;

/// Bytes per classified block.
const BLOCK: usize = 64 * 1024;
/// Byte entropy (bits per byte) from which a block is stored. Random data
/// measures ≈7.997 on a 64 KiB block; deflate saves well under 1% above 7.95.
const STORE_ENTROPY: f64 = 7.95;
/// Largest payload of one stored deflate block.
const STORED_MAX: usize = 65_535;

fn err(source: std::io::Error) -> LayerError {
    LayerError::Compress {
        codec: "gzip",
        source,
    }
}

/// One complete gzip member (header with mtime 0, no name, OS 255) for `data`.
pub(crate) fn member(data: &[u8], level: i32) -> Result<Vec<u8>, LayerError> {
    let level = level.clamp(0, 9) as u32;
    let stored: Vec<bool> = data
        .chunks(BLOCK)
        .map(|b| level > 0 && incompressible(b))
        .collect();
    if !stored.contains(&true) {
        return whole(data, level);
    }
    let mut out = Vec::with_capacity(data.len() + data.len() / 64 + 64);
    out.extend_from_slice(&header(level));
    let mut at = 0;
    while at < stored.len() {
        let kind = stored[at];
        let run = stored[at..].iter().take_while(|&&s| s == kind).count();
        let start = at * BLOCK;
        let end = ((at + run) * BLOCK).min(data.len());
        if kind {
            stored_blocks(&data[start..end], &mut out);
        } else {
            deflate_sync(&data[start..end], level, &mut out)?;
        }
        at += run;
    }
    // The final block: empty and stored.
    out.extend_from_slice(&[0x01, 0x00, 0x00, 0xff, 0xff]);
    trailer(data, &mut out);
    Ok(out)
}

/// The plain path: one deflate stream over the whole chunk.
fn whole(data: &[u8], level: u32) -> Result<Vec<u8>, LayerError> {
    let mut enc = flate2::GzBuilder::new().operating_system(255).write(
        Vec::with_capacity(data.len() / 2 + 64),
        Compression::new(level),
    );
    enc.write_all(data).map_err(err)?;
    enc.finish().map_err(err)
}

/// Shannon entropy of the byte histogram, in bits per byte, above the threshold?
fn incompressible(block: &[u8]) -> bool {
    // Short blocks give unreliable estimates and cost nothing to deflate.
    if block.len() < 4096 {
        return false;
    }
    let mut counts = [0u32; 256];
    for &b in block {
        counts[b as usize] += 1;
    }
    let n = block.len() as f64;
    let entropy: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum();
    entropy >= STORE_ENTROPY
}

/// The 10-byte header flate2's `GzBuilder` writes, so both paths agree.
fn header(level: u32) -> [u8; 10] {
    let xfl = match level {
        9.. => 2,
        0 | 1 => 4,
        _ => 0,
    };
    [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255]
}

fn trailer(data: &[u8], out: &mut Vec<u8>) {
    let mut crc = Crc::new();
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
}

/// Non-final stored blocks (byte-aligned: every segment before ends aligned).
fn stored_blocks(data: &[u8], out: &mut Vec<u8>) {
    for piece in data.chunks(STORED_MAX) {
        let len = piece.len() as u16;
        out.push(0x00);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(piece);
    }
}

/// A raw deflate segment ending with a sync flush, so it is byte-aligned and not final.
fn deflate_sync(data: &[u8], level: u32, out: &mut Vec<u8>) -> Result<(), LayerError> {
    let mut c = Compress::new(Compression::new(level), false);
    loop {
        out.reserve(data.len() / 2 + 1024);
        let consumed = c.total_in() as usize;
        let before = out.len();
        let status = c
            .compress_vec(&data[consumed..], out, FlushCompress::Sync)
            .map_err(|e| err(std::io::Error::other(e)))?;
        let done = c.total_in() as usize == data.len();
        // Finished when all input is in and the flush left spare output room.
        if done && out.len() < out.capacity() {
            return Ok(());
        }
        if matches!(status, Status::BufError) && out.len() == before {
            return Err(err(std::io::Error::other("deflate made no progress")));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    /// Deterministic pseudo-random bytes (xorshift), incompressible for deflate.
    fn noise(n: usize, mut s: u64) -> Vec<u8> {
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 24) as u8
            })
            .collect()
    }

    fn text(n: usize) -> Vec<u8> {
        b"the quick brown fox jumps over the lazy dog 0123456789\n"
            .iter()
            .copied()
            .cycle()
            .take(n)
            .collect()
    }

    #[test]
    fn random_data_is_stored_and_round_trips() {
        let data = noise(1 << 20, 7);
        let z = member(&data, 1).unwrap();
        assert_eq!(gunzip(&z), data);
        // Stored: 5 bytes per 64 KiB block + header/trailer/final block.
        assert!(z.len() <= data.len() + 17 * 5 + 23, "{}", z.len());
        assert!(z.len() >= data.len());
    }

    #[test]
    fn compressible_chunk_matches_plain_gzip() {
        let data = text(1 << 20);
        let z = member(&data, 1).unwrap();
        assert_eq!(z, whole(&data, 1).unwrap());
        assert!(z.len() < data.len() / 10);
    }

    #[test]
    fn mixed_chunk_round_trips_and_compresses_the_text() {
        let mut data = text(300_000);
        data.extend(noise(200_000, 3));
        data.extend(text(250_000));
        data.extend(noise(70_000, 9));
        let z = member(&data, 1).unwrap();
        assert_eq!(gunzip(&z), data);
        assert!(z.len() < 300_000, "{}", z.len());
        assert_eq!(z, member(&data, 1).unwrap(), "deterministic");
    }

    #[test]
    fn system_gzip_reads_a_mixed_member() {
        let mut data = noise(150_000, 5);
        data.extend(text(100_000));
        let z = member(&data, 6).unwrap();
        let mut child = std::process::Command::new("gzip")
            .args(["-dc"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || stdin.write_all(&z).unwrap());
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, data);
    }

    #[test]
    fn level_zero_and_empty_input() {
        assert_eq!(gunzip(&member(&[], 1).unwrap()), b"");
        let data = noise(100_000, 1);
        assert_eq!(gunzip(&member(&data, 0).unwrap()), data);
    }
}
