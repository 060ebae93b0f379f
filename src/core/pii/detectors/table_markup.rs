//! Rows of the tables that are not delimited lines, for the column pass ([`super::table`]): HTML
//! tables (`<th>` cells name the columns, `<td>` cells hold the values, in any layout of lines)
//! and SQL `INSERT INTO t (cols) VALUES (…), (…);` statements (the column list names the values
//! of every tuple after it, on its line or the following ones).
//!
//! Both readers are single forward passes over the text: each byte is looked at a bounded number
//! of times, nothing is allocated.

/// Most columns looked at in a header (of any table the column pass reads).
pub(super) const MAX_COLS: usize = 64;

/// One row of a table, as spans of the text.
pub(super) enum Row<'a> {
    /// Cells that name columns (`<th>` cells, an INSERT's column list).
    Header(&'a [(usize, usize)]),
    /// Cells of values.
    Data(&'a [(usize, usize)]),
    /// The table ended (`</table>`, the end of an INSERT): the next values need a new header.
    End,
}

fn ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|&c| ws(c)) {
        i += 1;
    }
    i
}

/// `s..e` without the whitespace at either end.
fn trim(b: &[u8], mut s: usize, mut e: usize) -> (usize, usize) {
    while s < e && b.get(s).is_some_and(|&c| ws(c)) {
        s += 1;
    }
    while e > s && b.get(e - 1).is_some_and(|&c| ws(c)) {
        e -= 1;
    }
    (s, e)
}

fn starts_ci(b: &[u8], i: usize, w: &[u8]) -> bool {
    b.get(i..i + w.len()).is_some_and(|x| x.eq_ignore_ascii_case(w))
}

/// Longest tag looked at, in bytes (attributes included); a longer one is not read as a cell.
const MAX_TAG: usize = 256;

/// Calls `f` for each row of the HTML tables in `b` (see the module comment). A row's cells run
/// from the end of their `<td …>`/`<th …>` tag to the next tag; a row whose cells are all `<th>`
/// is a header.
pub(super) fn html_rows(b: &[u8], f: &mut dyn FnMut(Row<'_>)) {
    fn flush(n: &mut usize, th: &mut usize, f: &mut dyn FnMut(Row<'_>), spans: &[(usize, usize); MAX_COLS]) {
        if *n > 0 {
            let cells = spans.get(..*n).unwrap_or(&[]);
            f(if *th == *n { Row::Header(cells) } else { Row::Data(cells) });
        }
        *n = 0;
        *th = 0;
    }
    let mut spans = [(0usize, 0usize); MAX_COLS];
    let mut n = 0usize;
    let mut th = 0usize;
    let mut i = 0usize;
    while let Some(off) = b.get(i..).and_then(|r| r.iter().position(|&c| c == b'<')) {
        let t = i + off;
        let close = b.get(t + 1) == Some(&b'/');
        let name = t + 1 + usize::from(close);
        let name_end = (name..name + 8).find(|&j| !b.get(j).is_some_and(u8::is_ascii_alphabetic)).unwrap_or(name);
        let tag_end =
            b.get(t..(t + MAX_TAG).min(b.len())).and_then(|r| r.iter().position(|&c| c == b'>')).map(|j| t + j + 1);
        let Some(tag_end) = tag_end else {
            i = t + 1;
            continue;
        };
        let tag = b.get(name..name_end).unwrap_or(&[]);
        if tag.eq_ignore_ascii_case(b"tr") {
            flush(&mut n, &mut th, f, &spans);
        } else if tag.eq_ignore_ascii_case(b"table") {
            flush(&mut n, &mut th, f, &spans);
            if close {
                f(Row::End);
            }
        } else if !close && (tag.eq_ignore_ascii_case(b"td") || tag.eq_ignore_ascii_case(b"th")) {
            let end = b.get(tag_end..).and_then(|r| r.iter().position(|&c| c == b'<')).map_or(b.len(), |j| tag_end + j);
            if let Some(slot) = spans.get_mut(n) {
                *slot = trim(b, tag_end, end);
                n += 1;
                th += usize::from(tag.eq_ignore_ascii_case(b"th"));
            }
        }
        i = tag_end;
    }
    flush(&mut n, &mut th, f, &spans);
}

/// Finds `insert` (any case) at a word start from `i`.
fn find_insert(b: &[u8], mut i: usize) -> Option<usize> {
    while let Some(off) = b.get(i..).and_then(|r| r.iter().position(|&c| c | 0x20 == b'i')) {
        let k = i + off;
        let word_start = k == 0 || b.get(k - 1).is_some_and(|c| !c.is_ascii_alphanumeric() && *c != b'_');
        if word_start && starts_ci(b, k, b"insert") {
            return Some(k);
        }
        i = k + 1;
    }
    None
}

/// One SQL value at `i` (after whitespace): a `'…'` or `"…"` string (a doubled quote inside it
/// is one quote) or a bare token up to `,` or `)`. Returns its span (the string's content) and
/// where it ends.
fn sql_value(b: &[u8], i: usize) -> (usize, usize, usize) {
    match b.get(i) {
        Some(&q) if q == b'\'' || q == b'"' => {
            let mut j = i + 1;
            loop {
                match b.get(j) {
                    None => return (i + 1, j, j),
                    Some(&c) if c == q && b.get(j + 1) == Some(&q) => j += 2,
                    Some(&c) if c == q => return (i + 1, j, j + 1),
                    Some(_) => j += 1,
                }
            }
        }
        _ => {
            let e = b
                .get(i..)
                .and_then(|r| r.iter().position(|&c| matches!(c, b',' | b')' | b'\n')))
                .map_or(b.len(), |j| i + j);
            let (s, t) = trim(b, i, e);
            (s, t, e)
        }
    }
}

/// Calls `f` for each `INSERT INTO name (columns) VALUES (…), (…)` in `b`: the column list as a
/// header (names trimmed of quotes, backticks and brackets), each tuple as a data row, then
/// [`Row::End`]. An INSERT without a column list names nothing and is skipped.
pub(super) fn sql_rows(b: &[u8], f: &mut dyn FnMut(Row<'_>)) {
    let mut spans = [(0usize, 0usize); MAX_COLS];
    let mut i = 0usize;
    while let Some(k) = find_insert(b, i) {
        i = k + 6;
        let mut j = skip_ws(b, i);
        if !starts_ci(b, j, b"into") {
            continue;
        }
        j = skip_ws(b, j + 4);
        // The table name: up to the column list's `(` or whitespace.
        let name = j;
        while b.get(j).is_some_and(|&c| c != b'(' && !ws(c)) && j - name < 128 {
            j += 1;
        }
        j = skip_ws(b, j);
        if b.get(j) != Some(&b'(') {
            i = j;
            continue;
        }
        let Some(close) = b.get(j..(j + 4096).min(b.len())).and_then(|r| r.iter().position(|&c| c == b')')) else {
            i = j;
            continue;
        };
        let list_end = j + close;
        let mut n = 0usize;
        let mut s = j + 1;
        for p in j + 1..=list_end {
            if matches!(b.get(p), Some(b',' | b')')) {
                let (mut a, mut z) = trim(b, s, p);
                while a < z && b.get(a).is_some_and(|c| matches!(c, b'`' | b'"' | b'[' | b'\'')) {
                    a += 1;
                }
                while z > a && b.get(z - 1).is_some_and(|c| matches!(c, b'`' | b'"' | b']' | b'\'')) {
                    z -= 1;
                }
                if let Some(slot) = spans.get_mut(n) {
                    *slot = (a, z);
                    n += 1;
                }
                s = p + 1;
            }
        }
        j = skip_ws(b, list_end + 1);
        if !starts_ci(b, j, b"values") {
            i = j;
            continue;
        }
        f(Row::Header(spans.get(..n).unwrap_or(&[])));
        j = skip_ws(b, j + 6);
        // Tuples, separated by `,`.
        while b.get(j) == Some(&b'(') {
            let mut m = 0usize;
            j += 1;
            let mut closed = false;
            loop {
                let (a, z, e) = sql_value(b, skip_ws(b, j));
                if let Some(slot) = spans.get_mut(m) {
                    *slot = (a, z);
                    m += 1;
                }
                j = skip_ws(b, e.max(j + 1));
                match b.get(j) {
                    Some(b',') => j += 1,
                    Some(b')') => {
                        j += 1;
                        closed = true;
                        break;
                    }
                    _ => break,
                }
            }
            if !closed {
                break;
            }
            f(Row::Data(spans.get(..m).unwrap_or(&[])));
            j = skip_ws(b, j);
            if b.get(j) != Some(&b',') {
                break;
            }
            j = skip_ws(b, j + 1);
        }
        f(Row::End);
        i = j.max(i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(t: &str, html: bool) -> Vec<String> {
        let mut out = Vec::new();
        let b = t.as_bytes();
        let mut f = |r: Row<'_>| {
            let (tag, cells) = match r {
                Row::Header(c) => ("H", c),
                Row::Data(c) => ("D", c),
                Row::End => ("E", &[][..]),
            };
            let cells: Vec<&str> = cells.iter().map(|&(s, e)| &t[s..e]).collect();
            out.push(format!("{tag}:{}", cells.join("|")));
        };
        if html {
            html_rows(b, &mut f);
        } else {
            sql_rows(b, &mut f);
        }
        out
    }

    #[test]
    fn html_rows_are_read_in_any_layout() {
        let t = "<table>\n  <tr><th>name</th><th class=\"x\">Phone</th></tr>\n  <tr><td>Ann</td><td> 0612345678 </td></tr>\n</table>";
        assert_eq!(rows(t, true), ["H:name|Phone", "D:Ann|0612345678", "E:"]);
        let t = "<TABLE><TR>\n<TH>ssn</TH>\n</TR><TR>\n<TD>219099999</TD>\n</TR></TABLE>";
        assert_eq!(rows(t, true), ["H:ssn", "D:219099999", "E:"]);
        // An unclosed tag, a lone `<`: nothing read, nothing hangs.
        assert_eq!(rows("<td", true), Vec::<String>::new());
        assert_eq!(rows("a < b", true), Vec::<String>::new());
    }

    #[test]
    fn sql_inserts_name_their_tuples() {
        let t = "INSERT INTO `t` (`id`, `ssn`, `note`) VALUES\n(1, '219099999', 'it''s, ok'),\n(2, NULL, \"x\");\nselect 1;";
        assert_eq!(rows(t, false), ["H:id|ssn|note", "D:1|219099999|it''s, ok", "D:2|NULL|x", "E:"]);
        let t = "insert into t (a, b) values (1, '2');\nINSERT INTO t (a, b) VALUES (3, '4');";
        assert_eq!(rows(t, false), ["H:a|b", "D:1|2", "E:", "H:a|b", "D:3|4", "E:"]);
        // No column list, an unterminated tuple, a word that only contains "insert".
        assert_eq!(rows("INSERT INTO t VALUES (1, '2');", false), Vec::<String>::new());
        assert_eq!(rows("INSERT INTO t (a) VALUES (1, '2", false), ["H:a", "E:"]);
        assert_eq!(rows("reinsert into t (a) values (1);", false), Vec::<String>::new());
    }
}
