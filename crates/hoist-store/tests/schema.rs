//! The files hoist-store writes validate against the OCI image-spec JSON schemas
//! (fixtures/conformance/oci-image-spec-schema, draft-04, `$ref`s by file name).

use std::io::Write;
use std::path::{Path, PathBuf};

use hoist_oci::spec::Descriptor;
use hoist_oci::{MediaType, Reference};
use hoist_store::Store;
use hoist_store::archive::{export_oci_dir, import_archive};
use serde_json::{Value, json};

fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/conformance/oci-image-spec-schema")
}

/// Resolves every `$ref` by its last path segment in the schema directory.
struct ByFileName;

impl jsonschema::Retrieve for ByFileName {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let path = uri.path().as_str();
        let name = path.rsplit('/').next().unwrap_or(path);
        let bytes = std::fs::read(schema_dir().join(name))?;
        Ok(serde_json::from_slice(&bytes)?)
    }
}

fn errors(schema_file: &str, instance: &Value) -> Vec<String> {
    let schema: Value =
        serde_json::from_slice(&std::fs::read(schema_dir().join(schema_file)).unwrap()).unwrap();
    let v = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .with_retriever(ByFileName)
        .build(&schema)
        .unwrap();
    v.iter_errors(instance).map(|e| e.to_string()).collect()
}

fn validate(schema_file: &str, instance: &Value) {
    let errors = errors(schema_file, instance);
    assert!(errors.is_empty(), "{schema_file}: {errors:?}\n{instance:#}");
}

#[test]
fn validator_resolves_refs_and_rejects_bad_documents() {
    // The digest pattern lives in defs-descriptor.json: rejecting it proves `$ref`s resolve.
    let bad = json!({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1, "digest": "nope"}]});
    assert!(!errors("image-index-schema.json", &bad).is_empty());
    assert!(
        !errors(
            "image-layout-schema.json",
            &json!({"imageLayoutVersion": "2.0.0"})
        )
        .is_empty()
    );
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// A one-layer image: returns the manifest descriptor.
fn image(s: &Store) -> Descriptor {
    let mut layer = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_size(2);
    h.set_mode(0o644);
    layer.append_data(&mut h, "f", &b"hi"[..]).unwrap();
    let layer = layer.into_inner().unwrap();
    let mut w = s.blob_writer().unwrap();
    w.write_all(&layer).unwrap();
    let (ld, ls) = w.commit().unwrap();
    let (config, _) = s
        .put_json(
            MediaType::ImageConfig,
            &json!({"architecture": "amd64", "os": "linux",
                    "rootfs": {"type": "layers", "diff_ids": [ld.to_string()]}}),
        )
        .unwrap();
    let (m, _) = s
        .put_json(
            MediaType::ImageManifest,
            &json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": config, "layers": [Descriptor::new(MediaType::ImageLayer, ls, ld)]}),
        )
        .unwrap();
    m
}

#[test]
fn store_layout_index_and_exports_match_the_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path().join("store")).unwrap();
    validate(
        "image-layout-schema.json",
        &read_json(&s.root().join("oci-layout")),
    );
    validate(
        "image-index-schema.json",
        &read_json(&s.root().join("index.json")),
    );

    let m = image(&s);
    s.set_name(&Reference::parse("demo:1").unwrap(), &m)
        .unwrap();
    s.set_name(&Reference::parse("ghcr.io/o/x:2").unwrap(), &m)
        .unwrap();
    validate(
        "image-index-schema.json",
        &read_json(&s.root().join("index.json")),
    );
    validate(
        "image-manifest-schema.json",
        &serde_json::from_slice(&s.read_blob(m.digest(), 1 << 20).unwrap()).unwrap(),
    );

    let out = dir.path().join("out");
    export_oci_dir(&s, &s.names().unwrap()[..1], &out).unwrap();
    validate(
        "image-layout-schema.json",
        &read_json(&out.join("oci-layout")),
    );
    validate(
        "image-index-schema.json",
        &read_json(&out.join("index.json")),
    );
}

#[test]
fn manifest_built_from_docker_archive_matches_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path().join("store")).unwrap();
    let m = image(&s);
    let man: Value = serde_json::from_slice(&s.read_blob(m.digest(), 1 << 20).unwrap()).unwrap();
    let hex = |v: &Value| {
        v["digest"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:")
            .to_string()
    };
    let (config_hex, layer_hex) = (hex(&man["config"]), hex(&man["layers"][0]));
    let f = dir.path().join("d.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&f).unwrap());
    let manifest = serde_json::to_vec(
        &json!([{"Config": "c.json", "RepoTags": ["d:1"], "Layers": ["l/layer.tar"]}]),
    )
    .unwrap();
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("manifest.json", manifest),
        (
            "c.json",
            std::fs::read(s.root().join("blobs/sha256").join(config_hex)).unwrap(),
        ),
        (
            "l/layer.tar",
            std::fs::read(s.root().join("blobs/sha256").join(layer_hex)).unwrap(),
        ),
    ];
    for (name, data) in &files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, &data[..]).unwrap();
    }
    b.finish().unwrap();
    drop(b);
    let fresh = Store::open(dir.path().join("fresh")).unwrap();
    let names = import_archive(&fresh, &f).unwrap();
    let d = fresh.resolve(&names[0]).unwrap().unwrap();
    let built: Value =
        serde_json::from_slice(&fresh.read_blob(d.digest(), 1 << 20).unwrap()).unwrap();
    validate("image-manifest-schema.json", &built);
    assert_eq!(
        built["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar"
    );
}
