//! The first-party plugins embedded in hoist (built from `plugins/` by build.rs).

use crate::World;

/// An embedded first-party plugin.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// The name in its manifest.
    pub name: &'static str,
    /// Its world.
    pub world: World,
    /// The component bytes.
    pub wasm: &'static [u8],
}

/// Every built-in plugin. Auth plugins are listed in their default asking order.
pub static BUILTINS: &[Builtin] = &[
    Builtin {
        name: "env",
        world: World::Auth,
        wasm: include_bytes!(env!("HOIST_GUEST_ENV")),
    },
    Builtin {
        name: "acr",
        world: World::Auth,
        wasm: include_bytes!(env!("HOIST_GUEST_ACR")),
    },
    Builtin {
        name: "ecr",
        world: World::Auth,
        wasm: include_bytes!(env!("HOIST_GUEST_ECR")),
    },
    Builtin {
        name: "gar",
        world: World::Auth,
        wasm: include_bytes!(env!("HOIST_GUEST_GAR")),
    },
    Builtin {
        name: "ibm",
        world: World::Auth,
        wasm: include_bytes!(env!("HOIST_GUEST_IBM")),
    },
    Builtin {
        name: "docker-config",
        world: World::Auth,
        wasm: include_bytes!(env!("HOIST_GUEST_DOCKER_CONFIG")),
    },
    Builtin {
        name: "profile-dockerhub",
        world: World::RegistryProfile,
        wasm: include_bytes!(env!("HOIST_GUEST_PROFILE_DOCKERHUB")),
    },
    Builtin {
        name: "profile-acr",
        world: World::RegistryProfile,
        wasm: include_bytes!(env!("HOIST_GUEST_PROFILE_ACR")),
    },
    Builtin {
        name: "profile-ghcr",
        world: World::RegistryProfile,
        wasm: include_bytes!(env!("HOIST_GUEST_PROFILE_GHCR")),
    },
    Builtin {
        name: "profile-ecr",
        world: World::RegistryProfile,
        wasm: include_bytes!(env!("HOIST_GUEST_PROFILE_ECR")),
    },
    Builtin {
        name: "profile-gar",
        world: World::RegistryProfile,
        wasm: include_bytes!(env!("HOIST_GUEST_PROFILE_GAR")),
    },
    Builtin {
        name: "profile-ibm",
        world: World::RegistryProfile,
        wasm: include_bytes!(env!("HOIST_GUEST_PROFILE_IBM")),
    },
    Builtin {
        name: "profile-generic",
        world: World::RegistryProfile,
        wasm: include_bytes!(env!("HOIST_GUEST_PROFILE_GENERIC")),
    },
];

/// The built-in plugin called `name`.
pub fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}
