//! Local image commands: images, tag, rmi, prune, save/load round trips, debug parse.

use crate::harness::{Hoist, fixture};

fn names(h: &Hoist) -> Vec<String> {
    let v: serde_json::Value =
        serde_json::from_str(&h.ok(&["images", "--format", "json"])).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_string())
        .collect()
}

fn blob_count(h: &Hoist) -> usize {
    std::fs::read_dir(h.root.path().join("blobs/sha256")).map_or(0, |d| d.count())
}

#[test]
fn tag_rmi_and_prune_share_and_free_blobs() {
    let h = Hoist::new();
    h.ok(&["build", "-q", "-t", "a:1", &fixture("scratch-copy")]);
    h.ok(&["tag", "a:1", "registry.example:5000/team/a:2"]);
    assert_eq!(
        names(&h),
        vec!["docker.io/library/a:1", "registry.example:5000/team/a:2"]
    );
    let blobs = blob_count(&h);
    assert!(blobs >= 4, "config, manifest and two layers: {blobs}");
    h.ok(&["rmi", "a:1"]);
    assert_eq!(names(&h), vec!["registry.example:5000/team/a:2"]);
    assert_eq!(
        blob_count(&h),
        blobs,
        "blobs still referenced by the other name stay"
    );
    h.ok(&["rmi", "registry.example:5000/team/a:2"]);
    assert!(names(&h).is_empty());
    assert_eq!(blob_count(&h), 0, "rmi of the last name frees the blobs");
    let err = h.fail(&["rmi", "nothere"]);
    assert!(err.contains("nothere"), "{err}");
}

#[test]
fn save_then_load_round_trips_the_digest() {
    let a = Hoist::new();
    let digest_file = a.path("digest");
    a.ok(&[
        "build",
        "-q",
        "-t",
        "rt:1",
        "--digest-file",
        digest_file.to_str().unwrap(),
        &fixture("multistage"),
    ]);
    let digest = std::fs::read_to_string(&digest_file).unwrap();
    let archive = a.path("rt.tar");
    a.ok(&[
        "save",
        "rt:1",
        "-o",
        archive.to_str().unwrap(),
        "--format",
        "oci-archive",
    ]);
    let b = Hoist::new();
    let out = b.ok(&["load", "-i", archive.to_str().unwrap()]);
    assert!(out.contains("rt:1"), "{out}");
    let v: serde_json::Value = serde_json::from_str(&b.ok(&["inspect", "rt:1"])).unwrap();
    assert_eq!(v["Digest"], digest.trim());
}

#[test]
fn build_from_a_loaded_base_image() {
    let h = Hoist::new();
    h.ok(&["build", "-q", "-t", "base:1", &fixture("scratch-copy")]);
    std::fs::write(h.path("extra.txt"), "extra\n").unwrap();
    std::fs::write(h.path("Dockerfile"), "FROM base:1\nCOPY extra.txt /app/\n").unwrap();
    h.ok(&["build", "-q", "-t", "child:1", "."]);
    let base: serde_json::Value = serde_json::from_str(&h.ok(&["inspect", "base:1"])).unwrap();
    let child: serde_json::Value = serde_json::from_str(&h.ok(&["inspect", "child:1"])).unwrap();
    let bl = base["Manifest"]["layers"].as_array().unwrap();
    let cl = child["Manifest"]["layers"].as_array().unwrap();
    assert_eq!(cl.len(), bl.len() + 1);
    assert_eq!(
        &cl[..bl.len()],
        &bl[..],
        "base layers are reused as they are"
    );
    assert_eq!(
        child["Config"]["config"]["Cmd"],
        serde_json::json!(["/app/a.txt"]),
        "CMD inherited"
    );
}

#[test]
fn debug_parse_matches_every_buildkit_conformance_result() {
    let h = Hoist::new();
    let dir = std::path::Path::new(&fixture("conformance")).join("dockerfile-parser");
    let mut cases = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let case = entry.unwrap().path();
        let expected = std::fs::read_to_string(case.join("result")).unwrap();
        let got = h.ok(&["debug", "parse", case.join("Dockerfile").to_str().unwrap()]);
        assert_eq!(got, expected, "case {}", case.display());
        cases += 1;
    }
    assert!(cases >= 20, "only {cases} cases found");
}
