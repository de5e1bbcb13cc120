//! Measures the cost of one sandboxed run: `cargo run --release --example run-true
//! -- ROOTFS [ITERATIONS] [rootless|chroot] [auto|single]`. ROOTFS must contain `/bin/true`.
//! The example is its own sandbox init (the default `init_program`).

use std::time::{Duration, Instant};

use hoist_sandbox::{IdMap, Isolation, RunSpec, Stdio, run};

fn main() {
    hoist_sandbox::maybe_run_init();
    let mut args = std::env::args().skip(1);
    let Some(rootfs) = args.next() else {
        eprintln!("usage: run-true ROOTFS [ITERATIONS] [rootless|chroot] [auto|single]");
        std::process::exit(2);
    };
    let iterations: u32 = args.next().and_then(|n| n.parse().ok()).unwrap_or(100);
    let isolation = match args.next().as_deref() {
        Some("chroot") => Isolation::Chroot,
        _ => Isolation::Rootless,
    };
    let id_map = match args.next().as_deref() {
        Some("single") => IdMap::Single,
        _ => IdMap::Auto,
    };
    let spec = RunSpec {
        rootfs: rootfs.into(),
        argv: vec!["/bin/true".into()],
        stdio: Stdio::Null,
        isolation,
        id_map,
        ..RunSpec::default()
    };
    let mut times = Vec::with_capacity(iterations as usize);
    for _ in 0..iterations {
        let started = Instant::now();
        match run(&spec) {
            Ok(outcome) if outcome.status.success() => times.push(started.elapsed()),
            Ok(outcome) => {
                eprintln!("true failed: {:?}", outcome.status);
                std::process::exit(1);
            }
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(1);
            }
        }
    }
    times.sort();
    let total: Duration = times.iter().sum();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{isolation:?} {id_map:?}: {iterations} runs, mean {:.2} ms, median {:.2} ms, min {:.2} ms, max {:.2} ms",
        ms(total / iterations.max(1)),
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1]),
    );
}
