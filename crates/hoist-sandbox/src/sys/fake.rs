//! A recording [`Syscall`] fake with an in-memory file tree, for unit tests.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use super::{FileKind, MountFlags, Namespaces, Syscall};

/// One recorded side-effecting call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Unshare(Namespaces),
    Mount {
        source: Option<PathBuf>,
        target: PathBuf,
        fstype: Option<String>,
        flags: MountFlags,
        data: Option<String>,
    },
    UmountDetach(PathBuf),
    PivotRoot(PathBuf, PathBuf),
    Chroot(PathBuf),
    Chdir(PathBuf),
    Sethostname(String),
    LoopbackUp,
    NoNewPrivs,
    DropCapability(u32),
    Setgroups(Vec<u32>),
    Setresgid(u32),
    Setresuid(u32),
    Mkdir(PathBuf, u32),
    CreateFile(PathBuf, u32),
    Symlink(PathBuf, PathBuf),
    Execve(PathBuf, Vec<String>, Vec<String>),
}

#[derive(Debug, Clone)]
enum Node {
    Dir,
    File { mode: u32 },
    Symlink(PathBuf),
    Other,
}

type FailRule = (Box<dyn Fn(&Call) -> bool>, i32);

/// Records calls; `file_kind`/`read_link`/`is_executable` answer from a fake tree.
#[derive(Default)]
pub struct FakeSyscall {
    calls: RefCell<Vec<Call>>,
    tree: RefCell<BTreeMap<PathBuf, Node>>,
    fail: RefCell<Vec<FailRule>>,
    locked_flags: MountFlags,
}

impl FakeSyscall {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a directory (and its parents).
    pub fn dir(self, path: &str) -> Self {
        let mut tree = self.tree.borrow_mut();
        for ancestor in Path::new(path).ancestors() {
            tree.entry(ancestor.to_path_buf()).or_insert(Node::Dir);
        }
        drop(tree);
        self
    }

    /// Add a file with `mode` (and its parent directories).
    pub fn file(self, path: &str, mode: u32) -> Self {
        let parent = Path::new(path)
            .parent()
            .map(|p| p.to_string_lossy().into_owned());
        let this = match parent {
            Some(p) => self.dir(&p),
            None => self,
        };
        this.tree
            .borrow_mut()
            .insert(PathBuf::from(path), Node::File { mode });
        this
    }

    /// Add a character device or other special file.
    pub fn device(self, path: &str) -> Self {
        let this = self.dir("/dev");
        this.tree
            .borrow_mut()
            .insert(PathBuf::from(path), Node::Other);
        this
    }

    /// Add a symlink `path` -> `target`.
    pub fn symlink_at(self, path: &str, target: &str) -> Self {
        self.tree
            .borrow_mut()
            .insert(PathBuf::from(path), Node::Symlink(PathBuf::from(target)));
        self
    }

    /// Report `flags` from `mount_flags` for every path.
    pub fn locked(mut self, flags: MountFlags) -> Self {
        self.locked_flags = flags;
        self
    }

    /// Make every call matching `pred` fail with `errno`.
    pub fn fail_when(self, pred: impl Fn(&Call) -> bool + 'static, errno: i32) -> Self {
        self.fail.borrow_mut().push((Box::new(pred), errno));
        self
    }

    /// The recorded calls so far.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.borrow().clone()
    }

    fn record(&self, call: Call) -> io::Result<()> {
        let errno = self
            .fail
            .borrow()
            .iter()
            .find(|(pred, _)| pred(&call))
            .map(|(_, errno)| *errno);
        self.calls.borrow_mut().push(call);
        match errno {
            Some(errno) => Err(io::Error::from_raw_os_error(errno)),
            None => Ok(()),
        }
    }

    fn create(&self, path: &Path, node: Node) -> io::Result<()> {
        let mut tree = self.tree.borrow_mut();
        if tree.contains_key(path) {
            return Err(io::Error::from_raw_os_error(libc::EEXIST));
        }
        let parent_is_dir = path
            .parent()
            .is_some_and(|p| matches!(tree.get(p), Some(Node::Dir)));
        if !parent_is_dir {
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        }
        tree.insert(path.to_path_buf(), node);
        Ok(())
    }
}

impl Syscall for FakeSyscall {
    fn unshare(&self, namespaces: Namespaces) -> io::Result<()> {
        self.record(Call::Unshare(namespaces))
    }

    fn mount(
        &self,
        source: Option<&Path>,
        target: &Path,
        fstype: Option<&str>,
        flags: MountFlags,
        data: Option<&str>,
    ) -> io::Result<()> {
        self.record(Call::Mount {
            source: source.map(Path::to_path_buf),
            target: target.to_path_buf(),
            fstype: fstype.map(str::to_owned),
            flags,
            data: data.map(str::to_owned),
        })
    }

    fn umount_detach(&self, target: &Path) -> io::Result<()> {
        self.record(Call::UmountDetach(target.to_path_buf()))
    }

    fn mount_flags(&self, _path: &Path) -> io::Result<MountFlags> {
        Ok(self.locked_flags)
    }

    fn pivot_root(&self, new_root: &Path, put_old: &Path) -> io::Result<()> {
        self.record(Call::PivotRoot(
            new_root.to_path_buf(),
            put_old.to_path_buf(),
        ))
    }

    fn chroot(&self, path: &Path) -> io::Result<()> {
        self.record(Call::Chroot(path.to_path_buf()))
    }

    fn chdir(&self, path: &Path) -> io::Result<()> {
        self.record(Call::Chdir(path.to_path_buf()))
    }

    fn sethostname(&self, name: &str) -> io::Result<()> {
        self.record(Call::Sethostname(name.to_owned()))
    }

    fn loopback_up(&self) -> io::Result<()> {
        self.record(Call::LoopbackUp)
    }

    fn bounding_capabilities(&self) -> io::Result<Vec<u32>> {
        // A kernel with capabilities 0..=40 (CAP_CHECKPOINT_RESTORE).
        Ok((0..=40).collect())
    }

    fn drop_bounding_capability(&self, cap: u32) -> io::Result<()> {
        self.record(Call::DropCapability(cap))
    }

    fn set_no_new_privs(&self) -> io::Result<()> {
        self.record(Call::NoNewPrivs)
    }

    fn setgroups(&self, gids: &[u32]) -> io::Result<()> {
        self.record(Call::Setgroups(gids.to_vec()))
    }

    fn setresgid(&self, gid: u32) -> io::Result<()> {
        self.record(Call::Setresgid(gid))
    }

    fn setresuid(&self, uid: u32) -> io::Result<()> {
        self.record(Call::Setresuid(uid))
    }

    fn file_kind(&self, path: &Path) -> io::Result<Option<FileKind>> {
        Ok(self.tree.borrow().get(path).map(|node| match node {
            Node::Dir => FileKind::Dir,
            Node::File { .. } => FileKind::File,
            Node::Symlink(_) => FileKind::Symlink,
            Node::Other => FileKind::Other,
        }))
    }

    fn read_link(&self, path: &Path) -> io::Result<PathBuf> {
        match self.tree.borrow().get(path) {
            Some(Node::Symlink(target)) => Ok(target.clone()),
            _ => Err(io::Error::from_raw_os_error(libc::EINVAL)),
        }
    }

    fn mkdir(&self, path: &Path, mode: u32) -> io::Result<()> {
        self.record(Call::Mkdir(path.to_path_buf(), mode))?;
        self.create(path, Node::Dir)
    }

    fn create_file(&self, path: &Path, mode: u32) -> io::Result<()> {
        self.record(Call::CreateFile(path.to_path_buf(), mode))?;
        self.create(path, Node::File { mode })
    }

    fn symlink(&self, target: &Path, link: &Path) -> io::Result<()> {
        self.record(Call::Symlink(target.to_path_buf(), link.to_path_buf()))?;
        self.create(link, Node::Symlink(target.to_path_buf()))
    }

    fn is_executable(&self, path: &Path) -> bool {
        matches!(self.tree.borrow().get(path), Some(Node::File { mode }) if mode & 0o111 != 0)
    }

    fn execve(&self, program: &Path, argv: &[String], env: &[String]) -> io::Error {
        match self.record(Call::Execve(
            program.to_path_buf(),
            argv.to_vec(),
            env.to_vec(),
        )) {
            Err(e) => e,
            Ok(()) => io::Error::other("fake execve does not replace the process"),
        }
    }
}
