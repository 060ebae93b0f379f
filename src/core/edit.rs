//! Byte-span edits spliced into the original body in one pass.

/// Replace `start..end` of the source with `bytes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// Start offset (inclusive).
    pub start: usize,
    /// End offset (exclusive); equal to `start` for an insertion.
    pub end: usize,
    /// Replacement bytes.
    pub bytes: Vec<u8>,
}

/// Edits could not be applied (they overlap or fall outside the source): an internal error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditConflict;

/// Applies `edits` (any order) to `src`, producing a new buffer of exactly the result's size
/// (one allocation, each source byte copied once).
pub fn apply(src: &[u8], mut edits: Vec<Edit>) -> Result<Vec<u8>, EditConflict> {
    edits.sort_by_key(|e| (e.start, e.end));
    let added: usize = edits.iter().map(|e| e.bytes.len()).sum();
    // Saturating: overlapping edits would remove some bytes twice; they are refused below.
    let removed: usize = edits.iter().map(|e| e.end.saturating_sub(e.start)).sum();
    let mut out = Vec::with_capacity(src.len().saturating_sub(removed).saturating_add(added));
    let mut at = 0usize;
    for e in &edits {
        if e.start < at || e.end < e.start || e.end > src.len() {
            return Err(EditConflict);
        }
        out.extend_from_slice(src.get(at..e.start).ok_or(EditConflict)?);
        out.extend_from_slice(&e.bytes);
        at = e.end;
    }
    out.extend_from_slice(src.get(at..).ok_or(EditConflict)?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splices_replacements_and_insertions_in_order() {
        let src = b"{\"a\":\"x\",\"b\":1}";
        let out = apply(
            src,
            vec![
                Edit { start: 5, end: 8, bytes: b"\"yy\"".to_vec() },
                Edit { start: 1, end: 1, bytes: b"\"p\":0,".to_vec() },
            ],
        )
        .unwrap();
        assert_eq!(out, b"{\"p\":0,\"a\":\"yy\",\"b\":1}");
    }

    #[test]
    fn overlapping_edits_are_an_error() {
        let e = |s, t| Edit { start: s, end: t, bytes: vec![] };
        assert_eq!(apply(b"abcdef", vec![e(1, 4), e(3, 5)]), Err(EditConflict));
        assert_eq!(apply(b"abc", vec![e(2, 9)]), Err(EditConflict));
    }
}
