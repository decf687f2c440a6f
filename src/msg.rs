//! Messages built without the heap, for everything that runs after a fault
//! has been seen. There, an allocation could wait in memory reclaim behind
//! the very storage that hangs, or fail under memory exhaustion and abort
//! the process; so errors, log lines and reasons on that path are written
//! into fixed buffers. A message longer than its buffer is cut on a
//! character boundary and ends in "...".

use core::fmt::{self, Write};

/// A text of at most `N` bytes, kept inline.
#[derive(Clone)]
pub struct Text<const N: usize> {
    buf: [u8; N],
    len: usize,
    cut: bool,
}

/// How many bytes of the indicator are kept as the reason.
pub const REASON_BYTES: usize = 256;

/// An indicator's reason, made printable (`sanitize`).
pub type Reason = heapless::String<REASON_BYTES>;

/// The size used for error messages.
pub type Msg = Text<512>;

impl<const N: usize> Text<N> {
    pub const fn new() -> Self {
        Text {
            buf: [0; N],
            len: 0,
            cut: false,
        }
    }

    /// The text; a cut one ends in "...".
    pub fn as_str(&self) -> &str {
        // `write_str` only ever copies whole characters: always UTF-8.
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn clear(&mut self) {
        self.len = 0;
        self.cut = false;
    }

    /// Formats `args` into a new text.
    pub fn from_fmt(args: fmt::Arguments) -> Self {
        let mut t = Self::new();
        let _ = t.write_fmt(args);
        t
    }
}

impl<const N: usize> Default for Text<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Write for Text<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        append(&mut self.buf, &mut self.len, &mut self.cut, s);
        Ok(())
    }
}

/// The one copy of the appending code, whatever the capacity.
#[inline(never)]
fn append(buf: &mut [u8], len: &mut usize, cut: &mut bool, s: &str) {
    if *cut {
        return;
    }
    let room = buf.len() - *len;
    if s.len() <= room {
        buf[*len..*len + s.len()].copy_from_slice(s.as_bytes());
        *len += s.len();
        return;
    }
    // Cut: keep room for "...", on a character boundary.
    let mut end = room.saturating_sub(3).min(s.len());
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    buf[*len..*len + end].copy_from_slice(&s.as_bytes()[..end]);
    *len += end;
    let dots = (buf.len() - *len).min(3);
    buf[*len..*len + dots].copy_from_slice(&b"..."[..dots]);
    *len += dots;
    *cut = true;
}

impl<const N: usize> fmt::Display for Text<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> fmt::Debug for Text<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> PartialEq for Text<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl<const N: usize> Eq for Text<N> {}

/// `msg!("...", args)`: a `Msg`, formatted without allocating.
#[macro_export]
macro_rules! msg {
    ($($t:tt)*) => { $crate::msg::Msg::from_fmt(format_args!($($t)*)) };
}

/// Printable ASCII only: tabs and line breaks become spaces, other bytes '?',
/// surrounding space trimmed. The result is safe for a terminal, the kernel
/// log and a `key=value` line.
pub fn sanitize(bytes: &[u8]) -> Reason {
    let mut out = Reason::new();
    for &b in bytes.iter().take(REASON_BYTES) {
        let c = match b {
            b'\t' | b'\n' | b'\r' => ' ',
            0x20..=0x7e => b as char,
            _ => '?',
        };
        let _ = out.push(c);
    }
    let trimmed_len = out.trim_end().len();
    out.truncate(trimmed_len);
    let lead = out.len() - out.trim_start().len();
    if lead > 0 {
        let mut shifted = Reason::new();
        let _ = shifted.push_str(&out[lead..]);
        out = shifted;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_are_cut_on_a_character_boundary_and_marked() {
        let t = Text::<10>::from_fmt(format_args!("{}", "é".repeat(10)));
        assert_eq!(t.as_str(), "ééé...");
        let t = Text::<10>::from_fmt(format_args!("abc{}", "defghijklmn"));
        assert_eq!(t.as_str(), "abcdefg...");
        let t = Text::<10>::from_fmt(format_args!("short"));
        assert_eq!(t.as_str(), "short");
    }

    #[test]
    fn sanitize_keeps_printable_ascii_and_nothing_else() {
        assert_eq!(sanitize(b"  disk full\n").as_str(), "disk full");
        assert_eq!(sanitize(b"a\tb\r\nc").as_str(), "a b  c");
        assert_eq!(sanitize(b"\x1b[31mred\x00\xff").as_str(), "?[31mred??");
        assert_eq!(sanitize("é".as_bytes()).as_str(), "??");
        assert_eq!(sanitize(&[b'x'; 1000]).len(), REASON_BYTES);
    }
}
