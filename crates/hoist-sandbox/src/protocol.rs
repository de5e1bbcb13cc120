//! The messages between `run` (the parent) and the sandbox init, over two pipes.
//!
//! parent → init (fd [`CONTROL_FD`]): a length-prefixed JSON [`InitRequest`], then
//! one [`GO`] byte once the id maps are written (or EOF to abort).
//! init → parent (fd [`REPORT_FD`], close-on-exec): newline-separated JSON
//! [`Report`]s. Each is written with one `write`, so they never interleave.

use std::io::{self, Read, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::setup::InitRequest;
use crate::spec::ExitStatus;

/// The argument (`argv[1]`) that turns an executable into the sandbox init.
pub(crate) const INIT_ARG: &str = "__hoist-sandbox-init";
/// The fd on which the init reads the request and the go byte.
pub(crate) const CONTROL_FD: i32 = 3;
/// The fd on which the init writes its reports.
pub(crate) const REPORT_FD: i32 = 4;
/// The byte that lets the init continue after the id maps are written.
pub(crate) const GO: u8 = b'G';
/// Upper bound on the request size, against a confused peer.
const MAX_REQUEST: u32 = 16 << 20;

/// What the init tells the parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Report {
    /// Namespaces created; the parent may write the id maps now.
    Unshared,
    /// The paths created in the rootfs (relative), sent before `enter`.
    Created(Vec<PathBuf>),
    /// A setup step failed.
    Failed {
        step: String,
        path: PathBuf,
        errno: Option<i32>,
        message: String,
    },
    /// The command could not be executed.
    ExecFailed {
        program: String,
        errno: Option<i32>,
        message: String,
    },
    /// The command ran and ended.
    Exited(ExitStatus),
}

impl Report {
    /// The error recorded in a `Failed`/`ExecFailed` report.
    pub(crate) fn io_error(errno: Option<i32>, message: &str) -> io::Error {
        match errno {
            Some(errno) => io::Error::from_raw_os_error(errno),
            None => io::Error::other(message.to_owned()),
        }
    }

    /// Serialize as one line and write it with a single `write_all`.
    pub(crate) fn send(&self, out: &mut impl Write) -> io::Result<()> {
        let mut line = serde_json::to_vec(self).map_err(io::Error::other)?;
        line.push(b'\n');
        out.write_all(&line)
    }
}

/// Write the request, length-prefixed.
pub(crate) fn write_request(out: &mut impl Write, request: &InitRequest) -> io::Result<()> {
    let body = serde_json::to_vec(request).map_err(io::Error::other)?;
    let len = u32::try_from(body.len()).map_err(io::Error::other)?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(&body)
}

/// Read a request written by [`write_request`].
pub(crate) fn read_request(input: &mut impl Read) -> io::Result<InitRequest> {
    let mut len = [0u8; 4];
    input.read_exact(&mut len)?;
    let len = u32::from_le_bytes(len);
    if len > MAX_REQUEST {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "request too large",
        ));
    }
    let mut body = vec![0u8; len as usize];
    input.read_exact(&mut body)?;
    serde_json::from_slice(&body).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Splits a byte stream into reports.
#[derive(Debug, Default)]
pub(crate) struct ReportReader {
    pending: Vec<u8>,
}

impl ReportReader {
    /// Feed bytes; returns the complete reports they finish.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> io::Result<Vec<Report>> {
        self.pending.extend_from_slice(bytes);
        let mut reports = Vec::new();
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let report = serde_json::from_slice(&line[..end])
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            reports.push(report);
        }
        Ok(reports)
    }

    /// True when a partial line is left over (the peer died mid-message).
    pub(crate) fn has_partial(&self) -> bool {
        !self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::RunSpec;

    #[test]
    fn request_round_trips() {
        let request = InitRequest {
            spec: RunSpec {
                argv: vec!["sh".into(), "-c".into(), "echo ünï\n".into()],
                ..RunSpec::default()
            },
            setgroups_allowed: true,
        };
        let mut buf = Vec::new();
        write_request(&mut buf, &request).unwrap();
        let back = read_request(&mut buf.as_slice()).unwrap();
        assert_eq!(back.spec, request.spec);
        assert!(back.setgroups_allowed);
    }

    #[test]
    fn reports_split_across_reads() {
        let mut bytes = Vec::new();
        Report::Unshared.send(&mut bytes).unwrap();
        Report::Exited(ExitStatus::Code(7))
            .send(&mut bytes)
            .unwrap();
        let mut reader = ReportReader::default();
        let (a, b) = bytes.split_at(5);
        assert!(reader.feed(a).unwrap().is_empty());
        assert!(reader.has_partial());
        assert_eq!(
            reader.feed(b).unwrap(),
            vec![Report::Unshared, Report::Exited(ExitStatus::Code(7))]
        );
        assert!(!reader.has_partial());
    }

    #[test]
    fn oversized_request_is_rejected() {
        let bytes = u32::MAX.to_le_bytes();
        let err = read_request(&mut bytes.as_slice()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
