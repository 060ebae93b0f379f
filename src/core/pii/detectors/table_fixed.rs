//! Fixed-width tables (mainframe reports, `column -t` output, aligned logs): no delimiter, the
//! columns are where the header's words are. A header line of three or more cells set apart by
//! two or more spaces, one of them naming an entity ([`super::table`]'s header words), makes the
//! value of each later line that lies under that header cell a candidate — left-aligned (the value
//! starts where the header word starts) or right-aligned (it ends under the header word): a token
//! of the row (split at runs of two or more spaces) that overlaps the header cell's columns.
//! Columns are counted in characters, not bytes (`Müller` is six columns wide). The table ends at
//! a blank line; a rule line (`-----`) is skipped; a later header line starts a new table.

use super::table_markup::MAX_COLS;

/// A fixed-width header: the character columns `[s, e)` of each cell and the entity column it
/// names (`C`: the caller's column kind), if any.
#[derive(Clone, Copy)]
pub(super) struct Fixed<C: Copy> {
    cols: [(usize, usize, Option<C>); MAX_COLS],
    n: usize,
}

/// Tokens of `line` split at runs of two or more spaces: (byte start, byte end, char start,
/// char end) of each, at most `MAX_COLS`, in `out`; returns how many.
fn tokens(line: &[u8], out: &mut [(usize, usize, usize, usize); MAX_COLS]) -> usize {
    let mut n = 0;
    let mut i = 0;
    let mut ch = 0;
    let len = line.len();
    while i < len && n < MAX_COLS {
        // Skip spaces.
        while line.get(i) == Some(&b' ') {
            i += 1;
            ch += 1;
        }
        if i >= len {
            break;
        }
        let (bs, cs) = (i, ch);
        let (mut be, mut ce) = (i, ch);
        while let Some(&c) = line.get(i) {
            if c == b' ' && line.get(i + 1).is_none_or(|&d| d == b' ') {
                break;
            }
            if c & 0xC0 != 0x80 {
                ch += 1;
            }
            i += 1;
            if c != b' ' && c != b'\r' {
                be = i;
                ce = ch;
            }
        }
        if be > bs {
            if let Some(slot) = out.get_mut(n) {
                *slot = (bs, be, cs, ce);
            }
            n += 1;
        }
    }
    n
}

/// Reads `line` as a fixed-width header: three or more cells apart by two or more spaces, plain
/// names (no `:` `=` `{` `"` `|` `,` `;` tab, no run of seven digits), at least one naming an
/// entity column (`kind`: the caller's reading of a header cell, None for no entity).
pub(super) fn header<C: Copy>(line: &[u8], kind: impl Fn(&[u8]) -> Option<C>) -> Option<Fixed<C>> {
    if line.iter().any(|c| matches!(c, b':' | b'=' | b'{' | b'"' | b'|' | b',' | b';' | b'\t')) {
        return None;
    }
    let mut t = [(0usize, 0usize, 0usize, 0usize); MAX_COLS];
    let n = tokens(line, &mut t);
    if n < 3 {
        return None;
    }
    let mut f = Fixed { cols: [(0, 0, None); MAX_COLS], n };
    let mut any = false;
    for (slot, &(bs, be, cs, ce)) in f.cols.iter_mut().zip(t.iter().take(n)) {
        let cell = line.get(bs..be).unwrap_or(&[]);
        if cell.iter().filter(|c| c.is_ascii_digit()).count() >= 7 {
            return None;
        }
        let k = kind(cell);
        any |= k.is_some();
        *slot = (cs, ce, k);
    }
    any.then_some(f)
}

/// Calls `found(byte start, byte end, column)` for each token of the data row `line` that lies
/// under an entity column of `f` (offsets relative to `line`).
pub(super) fn row<C: Copy>(line: &[u8], f: &Fixed<C>, mut found: impl FnMut(usize, usize, C)) {
    let mut t = [(0usize, 0usize, 0usize, 0usize); MAX_COLS];
    let n = tokens(line, &mut t);
    for &(hs, he, col) in f.cols.iter().take(f.n) {
        let Some(col) = col else { continue };
        if let Some(&(bs, be, _, _)) = t.iter().take(n).find(|&&(_, _, cs, ce)| cs < he && hs < ce) {
            found(bs, be, col);
        }
    }
}

/// Whether `line` is blank (spaces and a `\r` at most): the end of a fixed-width table.
pub(super) fn blank(line: &[u8]) -> bool {
    line.iter().all(|&c| c == b' ' || c == b'\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Col {
        Phone,
        Ssn,
        Card,
    }

    fn kind(cell: &[u8]) -> Option<Col> {
        match cell {
            b"SSN" => Some(Col::Ssn),
            b"PHONE" => Some(Col::Phone),
            b"CARD" => Some(Col::Card),
            _ => None,
        }
    }

    #[test]
    fn values_under_a_header_cell_left_or_right_aligned_are_read() {
        let h = b"CUST-NO   NAME            PHONE            SSN";
        let f = header(h, kind).map(|f| (f.n, f.cols[2], f.cols[3].2));
        assert!(matches!(f, Some((4, (26, 31, Some(Col::Phone)), Some(Col::Ssn)))));
        let f = header(h, kind);
        let mut got = Vec::new();
        if let Some(f) = &f {
            let r = "3392082   Müller, Jörg    +1 201-308-5118  871456047".as_bytes();
            row(r, f, |s, e, c| got.push((String::from_utf8_lossy(&r[s..e]).into_owned(), c == Col::Ssn)));
            // Right-aligned under its header.
            let r = b"1         Lee             (022) 43211   871456047";
            row(r, f, |s, e, c| got.push((String::from_utf8_lossy(&r[s..e]).into_owned(), c == Col::Ssn)));
        }
        let want = [("+1 201-308-5118", false), ("871456047", true), ("(022) 43211", false), ("871456047", true)];
        assert_eq!(got, want.map(|(v, s)| (v.to_owned(), s)));
    }

    #[test]
    fn a_header_needs_three_plain_cells_and_an_entity_column() {
        assert!(header(b"NAME  PHONE", kind).is_none());
        assert!(header(b"NAME  AMOUNT  DATE", kind).is_none());
        assert!(header(b"name: x  PHONE  SSN", kind).is_none());
        assert!(header(b"NAME, X  PHONE  SSN", kind).is_none());
        assert!(header(b"NAME  PHONE  SSN", kind).is_some());
        assert!(blank(b"   \r"));
    }
}
