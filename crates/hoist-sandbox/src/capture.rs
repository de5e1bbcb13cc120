//! Keeping only the last bytes of a command's output.

/// A buffer that keeps the last `limit` bytes pushed into it.
#[derive(Debug)]
pub(crate) struct Tail {
    limit: usize,
    buf: Vec<u8>,
}

impl Tail {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            limit,
            buf: Vec::new(),
        }
    }

    /// Append bytes, dropping the oldest beyond twice the limit (amortised trimming).
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        if bytes.len() >= self.limit {
            self.buf.clear();
            self.buf
                .extend_from_slice(&bytes[bytes.len() - self.limit..]);
            return;
        }
        self.buf.extend_from_slice(bytes);
        if self.buf.len() > self.limit.saturating_mul(2) {
            self.trim();
        }
    }

    fn trim(&mut self) {
        let excess = self.buf.len().saturating_sub(self.limit);
        self.buf.drain(..excess);
    }

    /// The last `limit` bytes.
    pub(crate) fn into_bytes(mut self) -> Vec<u8> {
        self.trim();
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::Tail;

    #[test]
    fn keeps_everything_under_the_limit() {
        let mut tail = Tail::new(10);
        tail.push(b"abc");
        tail.push(b"def");
        assert_eq!(tail.into_bytes(), b"abcdef");
    }

    #[test]
    fn keeps_only_the_last_bytes() {
        let mut tail = Tail::new(4);
        for chunk in [&b"012"[..], b"345", b"67", b"8"] {
            tail.push(chunk);
        }
        assert_eq!(tail.into_bytes(), b"5678");
        let mut tail = Tail::new(3);
        tail.push(b"a");
        tail.push(b"0123456789");
        assert_eq!(tail.into_bytes(), b"789");
    }

    #[test]
    fn zero_limit_keeps_nothing() {
        let mut tail = Tail::new(0);
        tail.push(b"abc");
        assert!(tail.into_bytes().is_empty());
    }
}
