//! Times `resolve_copy` over a generated context of 20,000 files (warm cache).
//!
//! `cargo run --release -p hoist-context --example bench_resolve [files]`

use std::time::{Duration, Instant};

use hoist_context::{ContextError, CopyRequest, IgnoreMatcher, resolve_copy};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 20_000,
    };
    let dir = tempfile::TempDir::new()?;
    let per_dir = 100;
    for d in 0..files.div_ceil(per_dir) {
        let sub = dir.path().join(format!("pkg{:03}/src/mod{d}", d % 50));
        std::fs::create_dir_all(&sub)?;
        for f in 0..per_dir.min(files - d * per_dir) {
            let ext = if f % 10 == 0 { "log" } else { "rs" };
            std::fs::write(sub.join(format!("file{f}.{ext}")), b"x")?;
        }
    }
    let ignore = IgnoreMatcher::parse("**/*.log\npkg00*/\n!pkg001/src/mod1/file5.rs\n.git\n")?;
    let sources = [".".to_string()];
    let req = CopyRequest {
        sources: &sources,
        dest: "/app/",
        ..CopyRequest::default()
    };
    // The floor: the same readdir + lstat per entry, with no filtering and no output.
    let mut floor = Vec::new();
    for _ in 0..60 {
        let cpu = on_cpu();
        let n = raw_walk(dir.path())?;
        floor.push((on_cpu().saturating_sub(cpu), n));
    }
    floor.sort();
    println!(
        "raw readdir+lstat of {} entries: on-CPU min {:.1} / median {:.1} ms",
        floor[0].1,
        floor[0].0.as_secs_f64() * 1e3,
        floor[floor.len() / 2].0.as_secs_f64() * 1e3
    );
    for (label, ig) in [
        ("no .dockerignore", None),
        ("with .dockerignore", Some(&ignore)),
    ] {
        let run = || -> Result<(usize, Duration, Duration), ContextError> {
            let (t, cpu) = (Instant::now(), on_cpu());
            let n = resolve_copy(dir.path(), ig, &req)?.len();
            Ok((n, t.elapsed(), on_cpu().saturating_sub(cpu)))
        };
        run()?; // warm the dentry/inode caches
        let (mut wall, mut cpu) = (Vec::new(), Vec::new());
        let mut items = 0;
        for _ in 0..60 {
            let (n, w, c) = run()?;
            items = n;
            wall.push(w);
            cpu.push(c);
        }
        wall.sort();
        cpu.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "{label}: {items} items from {files} files: wall min {:.1} / median {:.1} ms, on-CPU min {:.1} / median {:.1} ms",
            ms(wall[0]),
            ms(wall[wall.len() / 2]),
            ms(cpu[0]),
            ms(cpu[cpu.len() / 2])
        );
    }
    Ok(())
}

fn raw_walk(dir: &std::path::Path) -> std::io::Result<usize> {
    let mut n = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let md = entry.metadata()?;
        n += 1;
        if md.is_dir() {
            n += raw_walk(&entry.path())?;
        }
    }
    Ok(n)
}

/// Time this thread has spent on a CPU (Linux schedstat), zero where unavailable.
fn on_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}
