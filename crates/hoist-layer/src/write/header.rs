//! ustar headers with PAX extended records, written byte by byte so the output
//! is fully determined by the entry values.

use crate::entry::Timestamp;

/// Tar block size.
pub(crate) const BLOCK: usize = 512;

/// Tar type flags used by the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypeFlag {
    Regular,
    Hardlink,
    Symlink,
    Dir,
    Pax,
}

impl TypeFlag {
    fn byte(self) -> u8 {
        match self {
            TypeFlag::Regular => b'0',
            TypeFlag::Hardlink => b'1',
            TypeFlag::Symlink => b'2',
            TypeFlag::Dir => b'5',
            TypeFlag::Pax => b'x',
        }
    }
}

/// The fields of one tar header, before encoding.
pub(crate) struct HeaderFields<'a> {
    pub name: &'a [u8],
    pub link: &'a [u8],
    pub flag: TypeFlag,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime: Timestamp,
    /// Sorted `(name, value)` xattrs.
    pub xattrs: &'a [(&'a str, &'a [u8])],
}

const NAME_LEN: usize = 100;
const MAX_OCTAL_7: u64 = 0o7_777_777;
const MAX_OCTAL_11: u64 = 0o77_777_777_777;

/// Appends the header blocks (an optional PAX header with its data, then the
/// ustar header) for `f` to `out`. The entry's data is not included.
pub(crate) fn encode(f: &HeaderFields<'_>, out: &mut Vec<u8>) {
    let mut pax = Vec::new();
    // Records sorted by key, as Go's archive/tar does; SCHILY.xattr.* sort first.
    for (name, value) in f.xattrs {
        let mut key = b"SCHILY.xattr.".to_vec();
        key.extend_from_slice(name.as_bytes());
        push_record(&mut pax, &key, value);
    }
    if u64::from(f.gid) > MAX_OCTAL_7 {
        push_record(&mut pax, b"gid", f.gid.to_string().as_bytes());
    }
    if f.link.len() > NAME_LEN {
        push_record(&mut pax, b"linkpath", f.link);
    }
    let mtime_fits = f.mtime.secs >= 0 && f.mtime.secs as u64 <= MAX_OCTAL_11;
    if f.mtime.nanos != 0 || !mtime_fits {
        push_record(&mut pax, b"mtime", pax_time(f.mtime).as_bytes());
    }
    if f.name.len() > NAME_LEN {
        push_record(&mut pax, b"path", f.name);
    }
    if f.size > MAX_OCTAL_11 {
        push_record(&mut pax, b"size", f.size.to_string().as_bytes());
    }
    if u64::from(f.uid) > MAX_OCTAL_7 {
        push_record(&mut pax, b"uid", f.uid.to_string().as_bytes());
    }

    if !pax.is_empty() {
        let pax_name = pax_header_name(f.name);
        ustar_block(
            &HeaderFields {
                name: &pax_name,
                link: b"",
                flag: TypeFlag::Pax,
                mode: 0,
                uid: 0,
                gid: 0,
                size: pax.len() as u64,
                mtime: Timestamp::default(),
                xattrs: &[],
            },
            out,
        );
        out.extend_from_slice(&pax);
        out.resize(out.len() + padding(pax.len() as u64), 0);
    }
    ustar_block(f, out);
}

/// Zero bytes needed after `size` bytes of data to reach a block boundary.
pub(crate) fn padding(size: u64) -> usize {
    ((BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64) as usize
}

/// One 512-byte ustar block; fields that do not fit are truncated or zeroed
/// (their PAX record carries the real value).
fn ustar_block(f: &HeaderFields<'_>, out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + BLOCK, 0);
    let b = &mut out[start..];
    put_bytes(&mut b[0..100], f.name);
    put_octal(&mut b[100..108], u64::from(f.mode & 0o7777));
    put_octal(&mut b[108..116], clamp(u64::from(f.uid), MAX_OCTAL_7));
    put_octal(&mut b[116..124], clamp(u64::from(f.gid), MAX_OCTAL_7));
    put_octal(&mut b[124..136], clamp(f.size, MAX_OCTAL_11));
    let secs = if f.mtime.secs < 0 {
        0
    } else {
        clamp(f.mtime.secs as u64, MAX_OCTAL_11)
    };
    put_octal(&mut b[136..148], secs);
    b[156] = f.flag.byte();
    put_bytes(&mut b[157..257], f.link);
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    // uname/gname stay empty; devmajor/devminor are zero.
    put_octal(&mut b[329..337], 0);
    put_octal(&mut b[337..345], 0);
    b[148..156].fill(b' ');
    let sum: u32 = b.iter().map(|&x| u32::from(x)).sum();
    put_octal(&mut b[148..155], u64::from(sum));
    b[155] = b' ';
}

fn clamp(v: u64, max: u64) -> u64 {
    if v > max { 0 } else { v }
}

fn put_bytes(field: &mut [u8], value: &[u8]) {
    let n = value.len().min(field.len());
    field[..n].copy_from_slice(&value[..n]);
}

/// Zero-padded octal digits followed by a NUL, filling the field.
fn put_octal(field: &mut [u8], mut v: u64) {
    let digits = field.len() - 1;
    field[digits] = 0;
    for i in (0..digits).rev() {
        field[i] = b'0' + (v & 7) as u8;
        v >>= 3;
    }
}

/// Appends a PAX record `"<len> <key>=<value>\n"`, where `<len>` counts itself.
fn push_record(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    let base = 3 + key.len() + value.len(); // ' ', '=', '\n'
    let mut len = base + 1;
    while len != base + len.to_string().len() {
        len = base + len.to_string().len();
    }
    out.extend_from_slice(len.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// A PAX time value: `secs[.fraction]`, trailing zeros trimmed.
fn pax_time(t: Timestamp) -> String {
    let (neg, whole, frac) = if t.secs < 0 && t.nanos > 0 {
        (true, (-(t.secs + 1)) as u64, 1_000_000_000 - t.nanos)
    } else if t.secs < 0 {
        (true, t.secs.unsigned_abs(), 0)
    } else {
        (false, t.secs as u64, t.nanos)
    };
    let sign = if neg { "-" } else { "" };
    if frac == 0 {
        format!("{sign}{whole}")
    } else {
        let f = format!("{frac:09}");
        format!("{sign}{whole}.{}", f.trim_end_matches('0'))
    }
}

/// `dir/PaxHeaders.0/base` (what Go's archive/tar uses), cut to 100 bytes.
fn pax_header_name(name: &[u8]) -> Vec<u8> {
    let trimmed = name.strip_suffix(b"/").unwrap_or(name);
    let (dir, base) = match trimmed.iter().rposition(|&c| c == b'/') {
        Some(i) => (&trimmed[..=i], &trimmed[i + 1..]),
        None => (&b""[..], trimmed),
    };
    let mut v = dir.to_vec();
    v.extend_from_slice(b"PaxHeaders.0/");
    v.extend_from_slice(base);
    v.truncate(NAME_LEN);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_length_counts_its_own_digits() {
        let mut v = Vec::new();
        push_record(&mut v, b"path", b"abc");
        assert_eq!(v, b"12 path=abc\n");
        let mut v = Vec::new();
        let long = vec![b'x'; 95];
        push_record(&mut v, b"path", &long);
        // 95 + 4 + 3 = 102 -> "105 " prefix -> total 105
        assert_eq!(v.len(), 105);
        assert!(v.starts_with(b"105 path="));
    }

    #[test]
    fn pax_times() {
        assert_eq!(
            pax_time(Timestamp {
                secs: 5,
                nanos: 500_000_000
            }),
            "5.5"
        );
        assert_eq!(pax_time(Timestamp { secs: 5, nanos: 1 }), "5.000000001");
        assert_eq!(
            pax_time(Timestamp {
                secs: -2,
                nanos: 500_000_000
            }),
            "-1.5"
        );
        assert_eq!(pax_time(Timestamp { secs: -3, nanos: 0 }), "-3");
    }

    #[test]
    fn header_checksum_and_octal_fields() {
        let mut out = Vec::new();
        encode(
            &HeaderFields {
                name: b"etc/hosts",
                link: b"",
                flag: TypeFlag::Regular,
                mode: 0o644,
                uid: 1000,
                gid: 1000,
                size: 42,
                mtime: Timestamp::from_secs(1_700_000_000),
                xattrs: &[],
            },
            &mut out,
        );
        assert_eq!(out.len(), BLOCK);
        assert_eq!(&out[100..108], b"0000644\0");
        assert_eq!(&out[124..136], b"00000000052\0");
        let mut copy = out.clone();
        copy[148..156].fill(b' ');
        let sum: u32 = copy.iter().map(|&x| u32::from(x)).sum();
        let stored = std::str::from_utf8(&out[148..154]).unwrap();
        assert_eq!(u32::from_str_radix(stored, 8).unwrap(), sum);
    }

    #[test]
    fn long_name_gets_pax_record() {
        let name = "d/".repeat(80) + "file";
        let mut out = Vec::new();
        encode(
            &HeaderFields {
                name: name.as_bytes(),
                link: b"",
                flag: TypeFlag::Regular,
                mode: 0o644,
                uid: 0,
                gid: 0,
                size: 0,
                mtime: Timestamp::default(),
                xattrs: &[],
            },
            &mut out,
        );
        assert_eq!(out[156], b'x');
        assert_eq!(out.len(), 3 * BLOCK);
        let data = String::from_utf8_lossy(&out[BLOCK..2 * BLOCK]);
        assert!(data.contains(&format!("path={name}\n")));
    }
}
