//! Rough throughput check: one large incompressible layer through the store and the
//! archive formats. `cargo run --release -p hoist-store --example store_bench -- 512`
//! (size in MiB, default 256). Prints one line per step.

use std::io::Write;
use std::time::Instant;

use hoist_oci::spec::Descriptor;
use hoist_oci::{MediaType, Reference};
use hoist_store::Store;
use hoist_store::archive::{export_docker_archive, export_oci_archive, import_archive};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mib: u64 = std::env::args().nth(1).map_or(Ok(256), |a| a.parse())?;
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path().join("store"))?;
    let step = |name: &str, t: Instant| {
        let s = t.elapsed().as_secs_f64();
        println!("{name:<24} {s:>7.2}s {:>8.0} MiB/s", mib as f64 / s);
    };

    // xorshift bytes: incompressible, cheap to generate.
    let t = Instant::now();
    let mut w = store.blob_writer()?;
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let mut buf = vec![0u8; 1 << 20];
    for _ in 0..mib {
        for c in buf.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c.copy_from_slice(&x.to_le_bytes());
        }
        w.write_all(&buf)?;
    }
    let (layer, size) = w.commit()?;
    step("blob_writer", t);

    let (config, _) = store.put_json(
        MediaType::ImageConfig,
        &serde_json::json!({"architecture": "amd64", "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [layer.to_string()]}}),
    )?;
    let (manifest, _) = store.put_json(
        MediaType::ImageManifest,
        &serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config, "layers": [Descriptor::new(MediaType::ImageLayer, size, layer)]}),
    )?;
    let name = Reference::parse("bench:1")?;
    store.set_name(&name, &manifest)?;
    let images = store.names()?;

    let t = Instant::now();
    let oci = dir.path().join("oci.tar");
    export_oci_archive(&store, &images, &oci)?;
    step("export_oci_archive", t);

    let t = Instant::now();
    export_docker_archive(&store, &images, &dir.path().join("docker.tar"))?;
    step("export_docker_archive", t);

    let t = Instant::now();
    let other = Store::open(dir.path().join("other"))?;
    import_archive(&other, &oci)?;
    step("import (oci-archive)", t);
    Ok(())
}
