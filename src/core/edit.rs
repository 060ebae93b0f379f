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
pub(crate) struct EditConflict;

/// Applies `edits` (any order) to `src`, producing a new buffer of exactly the result's size
/// (one allocation, each source byte copied once).
pub(crate) fn apply(src: &[u8], mut edits: Vec<Edit>) -> Result<Vec<u8>, EditConflict> {
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

/// A rewritten body as a change of the original: its first `cut` bytes are replaced by `prefix`,
/// the rest is kept. The body sent is `prefix + original[cut..]`. When every edit is near the start
/// (provider injection, the `max_tokens` cap: the common case for a clean prompt), the host writes
/// a few hundred bytes instead of the whole body, and the rest is never copied (issue 17).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rewrite {
    /// Bytes of the original replaced.
    pub(crate) cut: usize,
    /// What replaces them.
    pub prefix: Vec<u8>,
}

impl Rewrite {
    /// `edits` (any order) applied to `src`, up to the end of the last edit.
    pub(crate) fn of(src: &[u8], edits: Vec<Edit>) -> Result<Self, EditConflict> {
        let cut = edits.iter().map(|e| e.end).max().unwrap_or(0);
        let head = src.get(..cut).ok_or(EditConflict)?;
        Ok(Self { cut, prefix: apply(head, edits)? })
    }

    /// The whole original replaced by `body`.
    pub(crate) fn whole(original_len: usize, body: Vec<u8>) -> Self {
        Self { cut: original_len, prefix: body }
    }

    /// The kept part of `src` (empty when the rewrite replaces all of it).
    pub(crate) fn rest<'a>(&self, src: &'a [u8]) -> &'a [u8] {
        src.get(self.cut..).unwrap_or_default()
    }

    /// Length of the rewritten body.
    pub(crate) fn len(&self, src: &[u8]) -> usize {
        self.prefix.len() + self.rest(src).len()
    }

    /// The rewritten body, materialised.
    pub(crate) fn apply_to(&self, src: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len(src));
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(self.rest(src));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rewrite_replaces_only_up_to_the_last_edit() {
        let src = b"{\"a\":\"x\",\"b\":\"long tail kept as it is\"}";
        let edits = || {
            vec![
                Edit { start: 5, end: 8, bytes: b"\"yy\"".to_vec() },
                Edit { start: 1, end: 1, bytes: b"\"p\":0,".to_vec() },
            ]
        };
        let rw = Rewrite::of(src, edits()).unwrap();
        assert_eq!(rw.cut, 8);
        assert_eq!(rw.prefix, b"{\"p\":0,\"a\":\"yy\"".to_vec());
        assert_eq!(rw.apply_to(src), apply(src, edits()).unwrap());
        assert_eq!(rw.len(src), rw.apply_to(src).len());
        let whole = Rewrite::whole(src.len(), b"{}".to_vec());
        assert_eq!((whole.apply_to(src), whole.rest(src)), (b"{}".to_vec(), &b""[..]));
        assert_eq!(Rewrite::of(src, vec![Edit { start: 1, end: 99, bytes: vec![] }]), Err(EditConflict));
    }

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
