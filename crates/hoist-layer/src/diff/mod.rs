//! Filesystem snapshots and diffs: what a `RUN` step changed, as layer entries.
//!
//! [`snapshot`] records every path under a root with one `lstat` walk (kind, size,
//! mtime/ctime in nanoseconds, mode, uid/gid, inode/device, link count, symlink
//! target). [`diff`] walks the root again and compares by metadata only (no content
//! hashing), so the cost is one stat walk plus the changed files, which are streamed
//! from disk when the layer is written:
//!
//! * added or changed paths become [`EntryKind::File`], [`EntryKind::Dir`] or
//!   [`EntryKind::Symlink`] entries; a file is changed when its inode, size, mtime,
//!   ctime, mode or owner changed; a directory when its mode or owner changed
//!   (not its times);
//! * every ancestor directory of a changed path is included with its real metadata
//!   (never made up), as overlay-based builders do;
//! * removed paths become [`EntryKind::Whiteout`]s, only the topmost one of a removed
//!   tree;
//! * a directory removed and recreated (new inode) becomes an
//!   [`EntryKind::OpaqueDir`] and all its contents are included;
//! * regular files sharing an inode within the layer become one file plus
//!   [`EntryKind::Hardlink`]s;
//! * fifos, sockets and device nodes are skipped with a warning; extended attributes
//!   are not recorded.
//!
//! Ownership: when the rootfs was extracted without privileges, the on-disk owner
//! is not the image's owner. [`OwnerTable`] keeps the true uid/gid/mode of every
//! path from the layers' tar headers, and [`IdRemap`] maps the host ids of files
//! created in a user namespace back to container ids; see [`DiffOptions`].

mod compare;
mod owners;
mod snapshot;
#[cfg(test)]
mod tests;
mod upper;

pub use compare::{DiffOptions, diff};
pub use owners::{IdRemap, OVERFLOW_ID, Owner, OwnerTable};
pub use snapshot::{Node, NodeKind, Snapshot, SnapshotOptions, snapshot};
pub use upper::{LowerOwners, UpperOptions, upper_diff};
