//! Writing layers: [`write_layer`].

mod gzip;
mod header;
mod pipeline;
mod plan;

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::path::Path;

use hoist_oci::media::oci_layer;

use crate::entry::{Entry, EntryKind, EntryMeta, FileSource, LayerInfo, LayerOptions};
use crate::error::LayerError;
use header::{BLOCK, HeaderFields, TypeFlag};
use pipeline::{Pipeline, chunk_size};

/// Writes `entries` as one deterministic layer blob to `sink`, in one pass.
///
/// Entries are put in canonical order (component-wise byte order, parents
/// first), duplicates resolved (last wins), missing parents added with
/// `opts.parent_meta`. The uncompressed tar is hashed (diffID) while it is
/// compressed; the compressed bytes are hashed and counted as they reach the
/// sink. Gzip output is a sequence of gzip members and zstd output a sequence
/// of frames, one per fixed-size chunk, so it can be compressed in parallel
/// while staying independent of `opts.threads`. Returns the digests and the
/// sink (not flushed beyond `Write::flush`).
pub fn write_layer<W: Write + Send>(
    entries: Vec<Entry>,
    opts: &LayerOptions,
    sink: W,
) -> Result<(LayerInfo, W), LayerError> {
    let list = plan::plan(entries, &opts.parent_meta, opts.clamp_mtime)?;
    let chunk = chunk_size(opts.compression);
    let (digests, sink, count) = std::thread::scope(|scope| {
        let pipeline = Pipeline::start(scope, opts.compression, opts.level, opts.threads, sink);
        let mut tar = TarStream::new(pipeline, chunk);
        let produced = produce(&list, &mut tar);
        let count = tar.entries;
        let (pipeline, closed) = tar.into_parts();
        let finished = pipeline.finish();
        match (produced, finished) {
            // A stage error explains why the producer saw a closed pipeline.
            (Err(_), Err(stage)) if closed => Err(stage),
            (Err(e), _) => Err(e),
            (Ok(()), Err(e)) => Err(e),
            (Ok(()), Ok((d, w))) => Ok((d, w, count)),
        }
    })?;
    tracing::debug!(
        entries = count,
        uncompressed = digests.uncompressed_size,
        size = digests.size,
        diff_id = %digests.diff_id,
        "layer written"
    );
    Ok((
        LayerInfo {
            diff_id: digests.diff_id,
            uncompressed_size: digests.uncompressed_size,
            digest: digests.digest,
            size: digests.size,
            media_type: oci_layer(opts.compression),
            entries: count,
        },
        sink,
    ))
}

fn produce<'s, W: Write + Send + 's>(
    list: &[Entry],
    tar: &mut TarStream<'s, W>,
) -> Result<(), LayerError> {
    for e in list {
        write_entry(e, tar)?;
    }
    // End of archive: two zero blocks (as Go's archive/tar writes).
    tar.zeros(2 * BLOCK)?;
    tar.flush_chunk()
}

fn write_entry<'s, W: Write + Send + 's>(
    e: &Entry,
    tar: &mut TarStream<'s, W>,
) -> Result<(), LayerError> {
    let xattrs: Vec<(&str, &[u8])> = e
        .meta
        .xattrs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_slice()))
        .collect();
    for k in e.meta.xattrs.keys() {
        if k.contains(['\0', '=']) || k.is_empty() {
            return Err(LayerError::InvalidEntry {
                path: e.path.clone(),
                reason: format!("invalid xattr name {k:?}"),
            });
        }
    }
    let fields = |name, link, flag, size| base_fields(e, &xattrs, name, link, flag, size);
    match &e.kind {
        EntryKind::Dir => {
            let name = format!("{}/", e.path);
            tar.header(&fields(name.as_bytes(), b"", TypeFlag::Dir, 0))?;
        }
        EntryKind::OpaqueDir => {
            let name = format!("{}/", e.path);
            tar.header(&fields(name.as_bytes(), b"", TypeFlag::Dir, 0))?;
            let marker = format!("{}/.wh..wh..opq", e.path);
            tar.header(&HeaderFields {
                mode: e.meta.mode & 0o777,
                xattrs: &[],
                ..fields(marker.as_bytes(), b"", TypeFlag::Regular, 0)
            })?;
        }
        EntryKind::Symlink { target } => {
            check_link(e, target)?;
            tar.header(&fields(
                e.path.as_bytes(),
                target.as_bytes(),
                TypeFlag::Symlink,
                0,
            ))?;
        }
        EntryKind::Hardlink { target } => {
            tar.header(&fields(
                e.path.as_bytes(),
                target.as_bytes(),
                TypeFlag::Hardlink,
                0,
            ))?;
        }
        EntryKind::Whiteout => {
            let name = match e.path.rsplit_once('/') {
                Some((dir, base)) => format!("{dir}/.wh.{base}"),
                None => format!(".wh.{}", e.path),
            };
            tar.header(&HeaderFields {
                xattrs: &[],
                ..fields(name.as_bytes(), b"", TypeFlag::Regular, 0)
            })?;
        }
        EntryKind::File { source, size } => {
            tar.header(&fields(e.path.as_bytes(), b"", TypeFlag::Regular, *size))?;
            match source {
                FileSource::Bytes(b) => tar.bytes(b)?,
                FileSource::Path(p) => copy_file(p, *size, tar)?,
            }
            tar.zeros(header::padding(*size))?;
        }
    }
    Ok(())
}

fn base_fields<'a>(
    e: &'a Entry,
    xattrs: &'a [(&'a str, &'a [u8])],
    name: &'a [u8],
    link: &'a [u8],
    flag: TypeFlag,
    size: u64,
) -> HeaderFields<'a> {
    HeaderFields {
        name,
        link,
        flag,
        mode: e.meta.mode,
        uid: e.meta.uid,
        gid: e.meta.gid,
        size,
        mtime: e.meta.mtime,
        xattrs,
    }
}

fn check_link(e: &Entry, target: &str) -> Result<(), LayerError> {
    if target.contains('\0') {
        return Err(LayerError::InvalidEntry {
            path: e.path.clone(),
            reason: "link target contains a NUL byte".into(),
        });
    }
    Ok(())
}

fn copy_file<'s, W: Write + Send + 's>(
    path: &Path,
    size: u64,
    tar: &mut TarStream<'s, W>,
) -> Result<(), LayerError> {
    let read_err = |source| LayerError::ReadSource {
        path: path.to_path_buf(),
        source,
    };
    let mut f = File::open(path).map_err(read_err)?;
    let mut left = size;
    while left > 0 {
        let n = tar.fill_from(&mut f, left).map_err(|e| match e {
            FillError::Read(source) => read_err(source),
            FillError::Pipeline(e) => e,
        })?;
        if n == 0 {
            return Err(LayerError::SourceShrank {
                path: path.to_path_buf(),
                expected: size,
                actual: size - left,
            });
        }
        left -= n as u64;
    }
    Ok(())
}

enum FillError {
    Read(std::io::Error),
    Pipeline(LayerError),
}

/// Accumulates tar bytes into fixed-size chunks and hands full chunks on.
struct TarStream<'scope, W: Write + Send> {
    pipeline: Pipeline<'scope, W>,
    buf: Vec<u8>,
    chunk: usize,
    header_buf: Vec<u8>,
    entries: u64,
    closed: bool,
}

impl<'scope, W: Write + Send + 'scope> TarStream<'scope, W> {
    fn new(pipeline: Pipeline<'scope, W>, chunk: usize) -> Self {
        TarStream {
            pipeline,
            buf: Vec::with_capacity(chunk),
            chunk,
            header_buf: Vec::with_capacity(4 * BLOCK),
            entries: 0,
            closed: false,
        }
    }

    fn into_parts(self) -> (Pipeline<'scope, W>, bool) {
        (self.pipeline, self.closed)
    }

    fn header(&mut self, f: &HeaderFields<'_>) -> Result<(), LayerError> {
        let mut hb = std::mem::take(&mut self.header_buf);
        hb.clear();
        header::encode(f, &mut hb);
        let r = self.bytes(&hb);
        self.header_buf = hb;
        self.entries += 1;
        r
    }

    fn bytes(&mut self, mut data: &[u8]) -> Result<(), LayerError> {
        while !data.is_empty() {
            let room = self.chunk - self.buf.len();
            let n = room.min(data.len());
            self.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
            self.ship_if_full()?;
        }
        Ok(())
    }

    fn zeros(&mut self, mut n: usize) -> Result<(), LayerError> {
        while n > 0 {
            let room = self.chunk - self.buf.len();
            let k = room.min(n);
            self.buf.resize(self.buf.len() + k, 0);
            n -= k;
            self.ship_if_full()?;
        }
        Ok(())
    }

    /// Reads at most `max` bytes from `r` straight into the chunk buffer.
    fn fill_from(&mut self, r: &mut impl Read, max: u64) -> Result<usize, FillError> {
        let start = self.buf.len();
        let room = (self.chunk - start).min(usize::try_from(max).unwrap_or(usize::MAX));
        self.buf.resize(start + room, 0);
        let n = loop {
            match r.read(&mut self.buf[start..start + room]) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf.truncate(start);
                    return Err(FillError::Read(e));
                }
            }
        };
        self.buf.truncate(start + n);
        self.ship_if_full().map_err(FillError::Pipeline)?;
        Ok(n)
    }

    fn ship_if_full(&mut self) -> Result<(), LayerError> {
        if self.buf.len() >= self.chunk {
            self.flush_chunk()?;
        }
        Ok(())
    }

    fn flush_chunk(&mut self) -> Result<(), LayerError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.buf, Vec::with_capacity(self.chunk));
        self.pipeline.push(full).map_err(|()| {
            self.closed = true;
            LayerError::Worker("pipeline closed")
        })
    }
}

impl EntryMeta {
    /// Metadata with the given mode and everything else defaulted (root, mtime 0).
    pub fn with_mode(mode: u32) -> Self {
        EntryMeta {
            mode,
            ..EntryMeta::default()
        }
    }
}
