//! Byte sets for the hand-written scanners (YAML, HTML and Markdown
//! escaping): a table indexed by the byte answers "is this one special?"
//! in one look-up.

/// The table in which exactly the bytes of `bytes` are `true`.
pub(crate) const fn byte_set(bytes: &[u8]) -> [bool; 256] {
    let mut set = [false; 256];
    let mut i = 0;
    while i < bytes.len() {
        set[bytes[i] as usize] = true;
        i += 1;
    }
    set
}

#[cfg(test)]
mod tests {
    use super::byte_set;

    #[test]
    fn holds_exactly_its_bytes() {
        let set = byte_set(b"a\n\xff");
        let members: Vec<usize> = (0..256).filter(|&b| set[b]).collect();
        assert_eq!(members, [usize::from(b'\n'), usize::from(b'a'), 0xff]);
    }
}
