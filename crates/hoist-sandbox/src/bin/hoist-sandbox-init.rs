//! A minimal executable for [`hoist_sandbox::run`] to re-exec, used by this crate's
//! tests (the `hoist` binary plays this role in production).

fn main() {
    hoist_sandbox::maybe_run_init();
    eprintln!("hoist-sandbox-init: only meant to be started by hoist_sandbox::run");
    std::process::exit(2);
}
