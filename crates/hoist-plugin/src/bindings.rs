//! Generated bindings for WIT package `hoist:plugin@0.1.1`, one module per world.
//! Guests built against 0.1.0 link too: the linker matches 0.1.x imports by semver.
//! A future major version gets its own module next to these.

/// World `auth`: imports `host`, exports `credentials`.
pub(crate) mod auth {
    wasmtime::component::bindgen!({
        world: "auth",
        path: "../../plugins/wit",
        imports: { default: async },
        exports: { default: async },
    });
}

/// World `registry-profile`: exports `profile`, imports nothing.
pub(crate) mod profile {
    wasmtime::component::bindgen!({
        world: "registry-profile",
        path: "../../plugins/wit",
    });
}

/// The package version these bindings implement.
pub const WIT_VERSION: &str = "0.1.1";

/// Imports each world may have, by interface name without the `@version` suffix;
/// the version must be `0.1.x`.
pub(crate) fn allowed_imports(world: crate::World) -> &'static [&'static str] {
    match world {
        crate::World::Auth => &["hoist:plugin/host", "hoist:plugin/types"],
        crate::World::RegistryProfile => &["hoist:plugin/types"],
    }
}

/// True when `import` (e.g. `hoist:plugin/host@0.1.0`) is allowed for `world`.
pub(crate) fn import_allowed(world: crate::World, import: &str) -> bool {
    let Some((iface, version)) = import.split_once('@') else {
        return false;
    };
    allowed_imports(world).contains(&iface) && version.starts_with("0.1.")
}
