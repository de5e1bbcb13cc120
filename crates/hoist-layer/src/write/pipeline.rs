//! The one-pass pipeline: tar chunks -> sha256 (diffID) on its own thread,
//! -> compression on worker threads (independent gzip members / zstd frames per
//! chunk, so output bytes do not depend on the thread count) -> in-order writer
//! that hashes the compressed bytes and writes the sink.
//!
//! Memory is bounded by the number of chunks in flight, not by layer size.

use std::io::Write;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::{Scope, ScopedJoinHandle};

use hoist_oci::Digest;
use hoist_oci::media::Compression;

use crate::error::LayerError;
use hoist_oci::Hasher;

/// Default gzip level (see `LayerOptions::level`).
pub(crate) const GZIP_DEFAULT_LEVEL: i32 = 1;
/// Default zstd level (see `LayerOptions::level`).
pub(crate) const ZSTD_DEFAULT_LEVEL: i32 = 2;

/// Upper bound on raw chunk bytes queued per stage.
const MAX_IN_FLIGHT: usize = 24 << 20;

/// Uncompressed bytes per chunk (one gzip member or zstd frame each).
pub(crate) fn chunk_size(c: Compression) -> usize {
    match c {
        Compression::None => 1 << 20,
        Compression::Gzip => 1 << 20,
        Compression::Zstd => 2 << 20,
    }
}

type Compressed = Result<Vec<u8>, LayerError>;
type Job = (Arc<Vec<u8>>, SyncSender<Compressed>);

/// What the pipeline measured.
pub(crate) struct Digests {
    pub diff_id: Digest,
    pub uncompressed_size: u64,
    pub digest: Digest,
    pub size: u64,
}

/// The producer's handle on a running pipeline.
pub(crate) struct Pipeline<'scope, W: Write + Send> {
    kind: Kind,
    diff_tx: Option<SyncSender<Arc<Vec<u8>>>>,
    job_tx: Option<SyncSender<Job>>,
    order_tx: Option<SyncSender<Receiver<Compressed>>>,
    plain_tx: Option<SyncSender<Vec<u8>>>,
    diff: Option<ScopedJoinHandle<'scope, (Digest, u64)>>,
    workers: Vec<ScopedJoinHandle<'scope, ()>>,
    writer: ScopedJoinHandle<'scope, Result<(Digest, u64, W), LayerError>>,
}

#[derive(Clone, Copy)]
enum Kind {
    Plain,
    Compressed,
}

impl<'scope, W: Write + Send + 'scope> Pipeline<'scope, W> {
    /// Starts the stages on `scope`.
    pub(crate) fn start<'env>(
        scope: &'scope Scope<'scope, 'env>,
        compression: Compression,
        level: Option<i32>,
        threads: usize,
        sink: W,
    ) -> Self {
        let threads = threads.max(1);
        // Chunks in flight per queue: enough to keep every worker busy, capped
        // at ~24 MiB of raw chunks so memory stays flat on many-core machines.
        let depth = (threads * 2 + 2).min((MAX_IN_FLIGHT / chunk_size(compression)).max(4));
        if compression == Compression::None {
            let (tx, rx) = sync_channel::<Vec<u8>>(4);
            let writer = scope.spawn(move || write_plain(rx, sink));
            return Pipeline {
                kind: Kind::Plain,
                diff_tx: None,
                job_tx: None,
                order_tx: None,
                plain_tx: Some(tx),
                diff: None,
                workers: Vec::new(),
                writer,
            };
        }
        let (diff_tx, diff_rx) = sync_channel::<Arc<Vec<u8>>>(depth);
        let diff = scope.spawn(move || {
            let mut h = Hasher::new();
            for chunk in diff_rx {
                h.update(&chunk);
            }
            let n = h.len();
            (h.finish(), n)
        });
        let (job_tx, job_rx) = sync_channel::<Job>(depth);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let workers = (0..threads)
            .map(|_| {
                let rx = Arc::clone(&job_rx);
                scope.spawn(move || compress_worker(&rx, compression, level))
            })
            .collect();
        let (order_tx, order_rx) = sync_channel::<Receiver<Compressed>>(depth);
        let writer = scope.spawn(move || write_ordered(order_rx, sink));
        Pipeline {
            kind: Kind::Compressed,
            diff_tx: Some(diff_tx),
            job_tx: Some(job_tx),
            order_tx: Some(order_tx),
            plain_tx: None,
            diff: Some(diff),
            workers,
            writer,
        }
    }

    /// Hands one chunk of tar bytes to the pipeline. Fails when a stage has
    /// stopped; the stage's own error is reported by [`Pipeline::finish`].
    pub(crate) fn push(&mut self, chunk: Vec<u8>) -> Result<(), ()> {
        match self.kind {
            Kind::Plain => self
                .plain_tx
                .as_ref()
                .ok_or(())?
                .send(chunk)
                .map_err(|_| ()),
            Kind::Compressed => {
                let chunk = Arc::new(chunk);
                let (res_tx, res_rx) = sync_channel(1);
                self.order_tx
                    .as_ref()
                    .ok_or(())?
                    .send(res_rx)
                    .map_err(|_| ())?;
                self.job_tx
                    .as_ref()
                    .ok_or(())?
                    .send((Arc::clone(&chunk), res_tx))
                    .map_err(|_| ())?;
                self.diff_tx.as_ref().ok_or(())?.send(chunk).map_err(|_| ())
            }
        }
    }

    /// Closes the inputs, waits for every stage and returns the digests and the sink.
    pub(crate) fn finish(mut self) -> Result<(Digests, W), LayerError> {
        self.plain_tx.take();
        self.diff_tx.take();
        self.job_tx.take();
        self.order_tx.take();
        let mut panicked = false;
        for w in self.workers {
            panicked |= w.join().is_err();
        }
        let diff = self.diff.map(|d| d.join());
        let written = self
            .writer
            .join()
            .map_err(|_| LayerError::Worker("writer thread panicked"))??;
        if panicked {
            return Err(LayerError::Worker("compression thread panicked"));
        }
        let (digest, size, sink) = written;
        let (diff_id, uncompressed_size) = match diff {
            None => (digest.clone(), size),
            Some(Ok(d)) => d,
            Some(Err(_)) => return Err(LayerError::Worker("hash thread panicked")),
        };
        Ok((
            Digests {
                diff_id,
                uncompressed_size,
                digest,
                size,
            },
            sink,
        ))
    }
}

fn write_plain<W: Write>(
    rx: Receiver<Vec<u8>>,
    mut sink: W,
) -> Result<(Digest, u64, W), LayerError> {
    let mut h = Hasher::new();
    for chunk in rx {
        h.update(&chunk);
        sink.write_all(&chunk).map_err(LayerError::Sink)?;
    }
    sink.flush().map_err(LayerError::Sink)?;
    let n = h.len();
    Ok((h.finish(), n, sink))
}

fn write_ordered<W: Write>(
    rx: Receiver<Receiver<Compressed>>,
    mut sink: W,
) -> Result<(Digest, u64, W), LayerError> {
    let mut h = Hasher::new();
    for slot in rx {
        let bytes = slot
            .recv()
            .map_err(|_| LayerError::Worker("compression thread vanished"))??;
        h.update(&bytes);
        sink.write_all(&bytes).map_err(LayerError::Sink)?;
    }
    sink.flush().map_err(LayerError::Sink)?;
    let n = h.len();
    Ok((h.finish(), n, sink))
}

fn compress_worker(rx: &Mutex<Receiver<Job>>, compression: Compression, level: Option<i32>) {
    let mut zstd_ctx = None;
    loop {
        let job = match rx.lock() {
            Ok(guard) => guard.recv(),
            // Another worker panicked while holding the lock; stop, finish() reports it.
            Err(_) => return,
        };
        let Ok((chunk, reply)) = job else { return };
        let out = match compression {
            Compression::Gzip => super::gzip::member(&chunk, level.unwrap_or(GZIP_DEFAULT_LEVEL)),
            Compression::Zstd => {
                zstd_frame(&mut zstd_ctx, &chunk, level.unwrap_or(ZSTD_DEFAULT_LEVEL))
            }
            Compression::None => Ok(chunk.to_vec()),
        };
        drop(chunk);
        // The writer hung up only when it already failed; its error is the one reported.
        if reply.send(out).is_err() {
            return;
        }
    }
}

/// One complete zstd frame (content size recorded, no checksum).
fn zstd_frame(
    ctx: &mut Option<zstd::bulk::Compressor<'static>>,
    data: &[u8],
    level: i32,
) -> Compressed {
    let err = |source| LayerError::Compress {
        codec: "zstd",
        source,
    };
    let c = match ctx {
        Some(c) => c,
        None => ctx.insert(zstd::bulk::Compressor::new(level).map_err(err)?),
    };
    c.compress(data).map_err(err)
}
