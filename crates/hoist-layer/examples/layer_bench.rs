//! Timing harness for `write_layer` on a deterministic ~400 MB / ~20,000-file tree.
//!
//! ```text
//! cargo run --release -p hoist-layer --example layer_bench -- gen /dev/shm/hoist-bench
//! cargo run --release -p hoist-layer --example layer_bench -- run /dev/shm/hoist-bench gzip [level] [threads]
//! ```
//! `gen` writes the tree (seeded PRNG: ~60% text-like files, ~40% random-like;
//! mostly small files, some medium, a few multi-MB). `run` walks it into
//! entries as a `COPY . /app` would, writes the layer to a discarding sink and
//! prints throughput and peak RSS (VmHWM). Use a separate `run` per codec so
//! VmHWM covers one layer only. `extract` times [`hoist_layer::extract`] of a
//! blob written with `run ... [outfile]`.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::Instant;

use hoist_layer::{
    Compression, Entry, EntryKind, EntryMeta, FileSource, LayerOptions, Timestamp, write_layer,
};

const FILES: usize = 20_000;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WORDS: &[&str] = &[
    "fn", "let", "mut", "struct", "impl", "self", "return", "match", "Some", "None", "Ok", "Err",
    "value", "index", "buffer", "layer", "digest", "config", "manifest", "String", "Vec", "usize",
    "for", "in", "if", "else", "while", "loop", "pub", "use", "crate", "mod", "const", "static",
    "where", "trait",
];

fn fill_text(rng: &mut Rng, buf: &mut Vec<u8>, size: usize) {
    buf.clear();
    while buf.len() < size {
        let w = WORDS[rng.below(WORDS.len() as u64) as usize];
        buf.extend_from_slice(w.as_bytes());
        buf.push(match rng.below(12) {
            0 => b'\n',
            1 => b'(',
            2 => b';',
            _ => b' ',
        });
    }
    buf.truncate(size);
}

fn fill_random(rng: &mut Rng, buf: &mut Vec<u8>, size: usize) {
    buf.clear();
    while buf.len() < size {
        buf.extend_from_slice(&rng.next().to_le_bytes());
    }
    buf.truncate(size);
}

fn generate(root: &Path) -> io::Result<()> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut buf = Vec::new();
    let mut total = 0u64;
    for i in 0..FILES {
        let dir = root.join(format!("d{:02}/s{:03}", i / 1000, (i / 50) % 20));
        fs::create_dir_all(&dir)?;
        let class = rng.below(1000);
        let size = if class < 850 {
            100 + rng.below(12 * 1024)
        } else if class < 995 {
            20 * 1024 + rng.below(40 * 1024)
        } else {
            1024 * 1024 + rng.below(2 * 1024 * 1024)
        } as usize;
        if rng.below(10) < 6 {
            fill_text(&mut rng, &mut buf, size);
        } else {
            fill_random(&mut rng, &mut buf, size);
        }
        let p = dir.join(format!("f{i:05}.{}", if i % 3 == 0 { "rs" } else { "bin" }));
        fs::write(&p, &buf)?;
        total += size as u64;
    }
    fs::write(root.join(".complete"), total.to_string())?;
    println!(
        "generated {FILES} files, {:.1} MB in {}",
        total as f64 / 1e6,
        root.display()
    );
    Ok(())
}

/// Walks `root` into entries under `app/`, as `COPY . /app` would.
fn walk(root: &Path, rel: &str, out: &mut Vec<Entry>) -> io::Result<()> {
    for de in fs::read_dir(root)? {
        let de = de?;
        let name = de
            .file_name()
            .into_string()
            .map_err(|_| io::Error::other("non-utf8 name"))?;
        if name == ".complete" {
            continue;
        }
        let md = de.metadata()?;
        let path = format!("{rel}/{name}");
        let meta = EntryMeta {
            mode: md.permissions().mode() & 0o7777,
            uid: 0,
            gid: 0,
            mtime: Timestamp {
                secs: md.mtime(),
                nanos: md.mtime_nsec() as u32,
            },
            xattrs: BTreeMap::new(),
        };
        if md.is_dir() {
            out.push(Entry {
                path: path.clone(),
                kind: EntryKind::Dir,
                meta,
            });
            walk(&de.path(), &path, out)?;
        } else {
            out.push(Entry {
                path,
                kind: EntryKind::File {
                    source: FileSource::Path(de.path()),
                    size: md.len(),
                },
                meta,
            });
        }
    }
    Ok(())
}

/// Counts bytes and throws them away (like /dev/null).
struct Discard(u64);

impl Write for Discard {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn vm_hwm_kb() -> u64 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn run(
    root: &Path,
    codec: &str,
    level: Option<i32>,
    threads: Option<usize>,
    out: Option<&str>,
) -> Result<(), Box<dyn std::error::Error>> {
    if !root.join(".complete").exists() {
        return Err(format!("{} has no generated tree: run `gen` first", root.display()).into());
    }
    let compression = match codec {
        "gzip" => Compression::Gzip,
        "zstd" => Compression::Zstd,
        "none" => Compression::None,
        other => return Err(format!("unknown codec {other}").into()),
    };
    let mut opts = LayerOptions {
        compression,
        level,
        clamp_mtime: Some(Timestamp::from_secs(1_700_000_000)),
        ..LayerOptions::default()
    };
    if let Some(t) = threads {
        opts.threads = t;
    }
    let start = Instant::now();
    let mut entries = Vec::new();
    walk(root, "app", &mut entries)?;
    let walked = start.elapsed();
    let t = Instant::now();
    let (info, written) = match out {
        Some(p) => {
            let (info, w) = write_layer(
                entries,
                &opts,
                BufWriter::with_capacity(1 << 20, fs::File::create(p)?),
            )?;
            let n = w.get_ref().metadata()?.len();
            (info, n)
        }
        None => {
            let (info, d) = write_layer(entries, &opts, Discard(0))?;
            (info, d.0)
        }
    };
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(written, info.size);
    println!(
        "{codec} level={level:?} threads={}: {} entries, tar {:.1} MB -> blob {:.1} MB (ratio {:.3}) in {:.2}s = {:.0} MB/s (walk {:.2}s), peak RSS {} MB",
        opts.threads,
        info.entries,
        info.uncompressed_size as f64 / 1e6,
        info.size as f64 / 1e6,
        info.size as f64 / info.uncompressed_size as f64,
        secs,
        info.uncompressed_size as f64 / 1e6 / secs,
        walked.as_secs_f64(),
        vm_hwm_kb() / 1024,
    );
    println!("  diff_id {}\n  digest  {}", info.diff_id, info.digest);
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["gen", dir] => Ok(generate(Path::new(dir))?),
        ["run", dir, codec, rest @ ..] => {
            let level = rest.first().map(|l| l.parse()).transpose()?;
            let threads = rest.get(1).map(|t| t.parse()).transpose()?;
            let out = rest.get(2).copied();
            run(Path::new(dir), codec, level, threads, out)
        }
        ["extract", blob, dir] => {
            let t = Instant::now();
            let stats = hoist_layer::extract(
                io::BufReader::new(fs::File::open(blob)?),
                Path::new(dir),
                &hoist_layer::ExtractOptions::default(),
            )?;
            let secs = t.elapsed().as_secs_f64();
            println!(
                "extracted {} files, {:.1} MB in {secs:.2}s = {:.0} MB/s, peak RSS {} MB",
                stats.files,
                stats.bytes as f64 / 1e6,
                stats.bytes as f64 / 1e6 / secs,
                vm_hwm_kb() / 1024
            );
            Ok(())
        }
        _ => Err("usage: layer_bench gen DIR | run DIR gzip|zstd|none [level] [threads] [outfile] | extract BLOB DIR".into()),
    }
}
