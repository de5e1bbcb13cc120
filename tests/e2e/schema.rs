//! Validation against the OCI image-spec JSON schemas in `fixtures/conformance`.

use std::path::PathBuf;

use jsonschema::{Retrieve, Uri};
use serde_json::Value;

/// Resolves the schemas' relative `$ref`s (`defs-descriptor.json`, …) to local files.
struct LocalSchemas(PathBuf);

impl Retrieve for LocalSchemas {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri
            .path()
            .as_str()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let bytes = std::fs::read(self.0.join(&name)).map_err(|e| format!("schema {name}: {e}"))?;
        Ok(serde_json::from_slice(&bytes)?)
    }
}

pub struct Schemas(PathBuf);

impl Schemas {
    pub fn load() -> Self {
        Schemas(PathBuf::from(crate::harness::fixture("conformance")).join("oci-image-spec-schema"))
    }

    /// Panics with every violation when `doc` does not validate against `schema`.
    pub fn check(&self, schema: &str, doc: &Value) {
        let s: Value =
            serde_json::from_slice(&std::fs::read(self.0.join(schema)).unwrap()).unwrap();
        let validator = jsonschema::options()
            .with_retriever(LocalSchemas(self.0.clone()))
            .build(&s)
            .unwrap_or_else(|e| panic!("schema {schema}: {e}"));
        let errors: Vec<String> = validator
            .iter_errors(doc)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{schema} rejects {doc}:\n{}",
            errors.join("\n")
        );
    }
}
