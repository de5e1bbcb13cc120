//! Runtime glue and small helpers shared by hoist's `no_std` wasm guests.
//!
//! A guest crate calls [`runtime!`] once: it installs a `dlmalloc` global allocator, a
//! panic handler that traps, and the `cabi_realloc` export the canonical ABI needs
//! (wit-bindgen leaves it to wasi-libc on wasip2, and a `no_std` guest has none).
#![no_std]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;

#[doc(hidden)]
pub use dlmalloc;

/// Installs the allocator, the panic handler and `cabi_realloc` in a `no_std` guest.
#[macro_export]
macro_rules! runtime {
    () => {
        #[global_allocator]
        static GUEST_ALLOCATOR: $crate::dlmalloc::GlobalDlmalloc = $crate::dlmalloc::GlobalDlmalloc;

        #[panic_handler]
        fn guest_panic(_info: &core::panic::PanicInfo<'_>) -> ! {
            core::arch::wasm32::unreachable()
        }

        /// `memcmp`, which wasi-libc would provide to a std guest.
        ///
        /// # Safety
        /// `a` and `b` must be valid for reads of `n` bytes.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
            let mut i = 0;
            while i < n {
                // SAFETY: the caller guarantees both ranges are readable.
                let (x, y) = unsafe { (*a.add(i), *b.add(i)) };
                if x != y {
                    return i32::from(x) - i32::from(y);
                }
                i += 1;
            }
            0
        }

        /// `bcmp`: like `memcmp`, only equality matters.
        ///
        /// # Safety
        /// `a` and `b` must be valid for reads of `n` bytes.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
            // SAFETY: same contract as memcmp.
            unsafe { memcmp(a, b, n) }
        }

        /// The canonical ABI's allocator entry point.
        ///
        /// # Safety
        /// Called by the component runtime with a pointer it got from this function.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn cabi_realloc(
            old: *mut u8,
            old_len: usize,
            align: usize,
            new_len: usize,
        ) -> *mut u8 {
            use core::alloc::Layout;
            if new_len == 0 {
                return align as *mut u8;
            }
            // SAFETY: the runtime passes a valid power-of-two alignment, and `old` came
            // from this allocator with `old_len`/`align` when `old_len` is not zero.
            let ptr = unsafe {
                if old_len == 0 {
                    alloc::alloc::alloc(Layout::from_size_align_unchecked(new_len, align))
                } else {
                    alloc::alloc::realloc(
                        old,
                        Layout::from_size_align_unchecked(old_len, align),
                        new_len,
                    )
                }
            };
            if ptr.is_null() {
                core::arch::wasm32::unreachable()
            }
            ptr
        }
    };
}

/// Matches `text` against a glob where `*` stands for any run of characters (ASCII
/// case-insensitive, as host names are).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi].eq_ignore_ascii_case(&t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// A normalised reference split into parts: `domain/repository[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefParts {
    /// Registry host and port.
    pub domain: String,
    /// Repository path.
    pub repository: String,
    /// Tag, without the `:`.
    pub tag: Option<String>,
    /// Digest, without the `@`.
    pub digest: Option<String>,
}

impl RefParts {
    /// Splits a normalised reference; `None` when it has no `/` after the domain.
    pub fn split(reference: &str) -> Option<Self> {
        let (rest, digest) = match reference.split_once('@') {
            Some((r, d)) => (r, Some(String::from(d))),
            None => (reference, None),
        };
        let (domain, path) = rest.split_once('/')?;
        let (repository, tag) = match path.rsplit_once(':') {
            Some((r, t)) => (r, Some(String::from(t))),
            None => (path, None),
        };
        if domain.is_empty() || repository.is_empty() {
            return None;
        }
        Some(Self {
            domain: String::from(domain),
            repository: String::from(repository),
            tag,
            digest,
        })
    }

    /// The path components of the repository.
    pub fn components(&self) -> Vec<&str> {
        self.repository.split('/').collect()
    }

    /// Joins the parts back into `domain/repository[:tag][@digest]`.
    pub fn join(&self) -> String {
        let mut s = String::new();
        s.push_str(&self.domain);
        s.push('/');
        s.push_str(&self.repository);
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
        s
    }
}

/// Percent-encodes a value for an `application/x-www-form-urlencoded` body.
pub fn form_encode(value: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::new();
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'*') {
            out.push(b as char);
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
    out
}

/// True for `localhost`, `127.x.x.x` and `[::1]`, with or without a port.
pub fn is_loopback(registry: &str) -> bool {
    let host = if registry.starts_with('[') {
        registry
            .split(']')
            .next()
            .map_or(registry, |h| &registry[..h.len() + 1])
    } else {
        registry.rsplit_once(':').map_or(registry, |(h, _)| h)
    };
    host == "localhost" || host.starts_with("127.") || host == "[::1]"
}
