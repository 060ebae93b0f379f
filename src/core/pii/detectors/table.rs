//! Column-aware detection for delimited data: CSV, TSV, semicolon files, markdown tables. A header
//! row naming an entity (`ssn`, `phone`, `Telefon`, `card_number`, …) makes the values of its
//! column candidates, so nine bare digits under `ssn` are an SSN and `612 34 56 78` under
//! `teléfono` a phone number, without a context word next to each value.
//!
//! Run only when the main pass left a cluster of seven or more digits without a finding
//! ([`Sink::digits_left`]), so text without such numbers never pays for it. Values are still
//! validated: an SSN by its area/group/serial rules, a phone number against the numbering plan
//! (or NANP, or a `+` number of 8–15 digits), a card by Luhn and issuer prefix.

use super::table_fixed::{self, Fixed};
use super::table_markup::{html_rows, sql_rows, Row, MAX_COLS};
use super::{card, phone, ssn, Kind, Sink};
use crate::core::pii::entity::Entity;
use crate::core::pii::validate::{luhn, ssn_ok};

/// The delimiters a table may use, most specific first.
const DELIMS: [u8; 4] = [b'\t', b'|', b';', b','];

/// Header words (lower case) per entity; a header cell matches when one of its words (split on
/// anything but letters, digits and non-ASCII) is in the list.
const PHONE_WORDS: [&[u8]; 31] = [
    b"phone",
    b"telephone",
    b"tel",
    b"telefon",
    b"telefono",
    "tel\u{e9}fono".as_bytes(),
    "t\u{e9}l\u{e9}phone".as_bytes(),
    "t\u{e9}l".as_bytes(),
    b"mobile",
    b"mobil",
    b"cell",
    b"cellphone",
    b"handy",
    b"portable",
    b"fax",
    b"celular",
    b"msisdn",
    b"whatsapp",
    b"ph",
    b"mob",
    b"gsm",
    b"tlf",
    b"tfn",
    b"natel",
    b"cellulare",
    "kom\u{f3}rka".as_bytes(),
    b"komorka",
    "m\u{f3}vil".as_bytes(),
    b"movil",
    b"puhelin",
    b"fono",
];
/// Stems of compound or inflected header words that name a phone column (`Telefonnummer`,
/// `telefoonnummer`, `Telemóvel`, `Mobilnummer`, `phone_number`, `téléfono`).
const PHONE_STEMS: [&[u8]; 7] =
    [b"telef", b"telep", b"telem", "t\u{e9}l\u{e9}".as_bytes(), b"phone", b"mobil", b"mobiel"];
/// Stems of header words that name a card column (`kortnummer`, `Betalingskort`, `kaartnummer`,
/// `Numer karty`, `Kartennummer`).
const CARD_STEMS: [&[u8]; 6] = [b"kort", b"kaart", b"karte", b"karty", b"karta", b"card"];
const SSN_WORDS: [&[u8]; 2] = [b"ssn", b"ss#"];

/// Header words naming a version column: a dotted quad under them is a version, not an address.
const VERSION_WORDS: [&[u8]; 7] = [b"version", b"ver", b"build", b"release", b"firmware", b"rev", b"revision"];

/// Header words naming an identifier or time column: a number under them that reads as a phone
/// number is that identifier (`tracking_number`: `099291859815`, `isbn`: `978-1-241-11576-0`,
/// `created_at`: `1674975574632`).
const ID_WORDS: [&[u8]; 13] = [
    b"tracking",
    b"order",
    b"invoice",
    b"isbn",
    b"ean",
    b"upc",
    b"sku",
    b"serial",
    b"timestamp",
    b"created",
    b"updated",
    b"time",
    b"ts",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Col {
    Other,
    Phone,
    Ssn,
    Card,
    Version,
    Id,
}

fn word_in(cell: &[u8], words: &[&[u8]]) -> bool {
    cell.split(|&c| !(c.is_ascii_alphanumeric() || c >= 0x80 || c == b'#'))
        .any(|w| words.iter().any(|x| w.eq_ignore_ascii_case(x)))
}

fn column_kind(cell: &[u8]) -> Col {
    if word_in(cell, &SSN_WORDS) || ssn::CONTEXT.iter().any(|w| contains_ci(cell, w)) {
        Col::Ssn
    } else if word_in(cell, &PHONE_WORDS) || PHONE_STEMS.iter().any(|w| contains_ci(cell, w)) {
        Col::Phone
    } else if word_in(cell, &card::CARD_WORDS)
        || CARD_STEMS.iter().any(|w| contains_ci(cell, w))
        || contains_ci(cell, b"credit")
    {
        Col::Card
    } else if word_in(cell, &VERSION_WORDS) {
        Col::Version
    } else if word_in(cell, &ID_WORDS) {
        Col::Id
    } else {
        Col::Other
    }
}

/// Whether `s..e` (a digit cluster or a finding) can be a whole cell of a table row: only
/// spaces, quotes and the phone punctuation [`cell_digits`] allows stand between it and a
/// delimiter, a line break or the edge of the text on both sides. The main pass asks for the
/// column pass only for such values ([`Sink::digits_left`], [`Sink::quads`]): the pass can only
/// act on whole cells, and most digit runs in prose and code are not one.
pub(crate) fn whole_cell(b: &[u8], s: usize, e: usize) -> bool {
    let pad = |c: u8| matches!(c, b' ' | b'"' | b'\'' | b'\r' | b'+' | b'(' | b')' | b'-' | b'.' | b'/');
    // psql and other aligned output pad a cell to its column's width: spaces may run on.
    let more = |n: usize, c: u8| pad(c) && (n < 8 || c == b' ' && n < 256);
    let mut i = s;
    while i > 0 && b.get(i - 1).is_some_and(|&c| more(s - i, c)) {
        i -= 1;
    }
    let mut j = e;
    while b.get(j).is_some_and(|&c| more(j - e, c)) {
        j += 1;
    }
    // An HTML cell (`<td>…</td>`) is bounded by its tags; an HL7 v2 field by `^` (components) and
    // `\r` (segments); a fixed-width column by two or more spaces.
    let gap = |w: Option<&[u8]>| w.is_some_and(|w| w.windows(2).any(|p| p == b"  "));
    let left =
        i == 0 || b.get(i - 1).is_some_and(|&c| c == b'\n' || c == b'>' || DELIMS.contains(&c)) || gap(b.get(i..s));
    let right = b.get(j).is_none_or(|&c| c == b'\n' || c == b'<' || c == b'^' || DELIMS.contains(&c))
        || b.get(j.saturating_sub(1)) == Some(&b'\r') && j > e
        || gap(b.get(e..j));
    left && right
}

/// Needles [`column_kind`] looks for inside a cell (besides [`PHONE_STEMS`] and [`CARD_STEMS`]):
/// every context word of [`ssn::CONTEXT`] holds one of them.
const FRAGMENTS: [&[u8]; 7] = [
    b"ssn",
    b"social",
    b"sozial",
    b"credit",
    b"ss#",
    "t\u{e9}l\u{e9}".as_bytes(),
    "\u{793e}\u{4f1a}\u{4fdd}\u{969c}".as_bytes(),
];
/// The whole words [`maybe_header`] compares (`ss`: the `ss no` of [`ssn::CONTEXT`]).
const EXACT: [&[&[u8]]; 6] = [&PHONE_WORDS, &SSN_WORDS, &card::CARD_WORDS, &VERSION_WORDS, &ID_WORDS, &[b"ss"]];
/// The needles [`maybe_header`] looks for inside a word.
const INSIDE: [&[&[u8]]; 3] = [&FRAGMENTS, &PHONE_STEMS, &CARD_STEMS];

/// Bucket of a word's first byte in [`EXACT_LENGTHS`]: ASCII folded to lower case, every
/// non-ASCII byte in one bucket.
#[inline(always)]
const fn first_bucket(c: u8) -> usize {
    if c < 0x80 {
        c.to_ascii_lowercase() as usize
    } else {
        0x80
    }
}

/// Per [`first_bucket`], bit `k` set when an [`EXACT`] word of `k` bytes (15 for 15 or more)
/// starts there: most words of a line are turned down by one load.
#[allow(clippy::indexing_slicing, reason = "const evaluation: an index out of range fails compilation")]
static EXACT_LENGTHS: [u16; 129] = {
    let mut t = [0u16; 129];
    let mut l = 0;
    while l < EXACT.len() {
        let list = EXACT[l];
        let mut k = 0;
        while k < list.len() {
            let w = list[k];
            if !w.is_empty() {
                let len = if w.len() < 15 { w.len() } else { 15 };
                t[first_bucket(w[0])] |= 1 << len;
            }
            k += 1;
        }
        l += 1;
    }
    t
};

/// Bit of a byte pair in a [`pair_set`] (both folded to lower case).
#[inline(always)]
const fn pair_bit(a: u8, b: u8) -> usize {
    (a.to_ascii_lowercase() as usize * 31 + b.to_ascii_lowercase() as usize) & 1023
}

/// A 1024-bit set of the first two bytes of every needle of `lists` (hashed; a collision only
/// costs a comparison): a text is searched for the needles only where such a pair stands.
#[allow(clippy::indexing_slicing, reason = "const evaluation: an index out of range fails compilation")]
const fn pair_set(lists: &[&[&[u8]]]) -> [u64; 16] {
    let mut t = [0u64; 16];
    let mut l = 0;
    while l < lists.len() {
        let list = lists[l];
        let mut k = 0;
        while k < list.len() {
            let w = list[k];
            let bit = pair_bit(w[0], w[1]);
            t[bit / 64] |= 1 << (bit % 64);
            k += 1;
        }
        l += 1;
    }
    t
}

/// Whether `h` holds (ASCII case-insensitively) a needle of `lists`, `pairs` being their
/// [`pair_set`].
fn holds(h: &[u8], pairs: &[u64; 16], lists: &[&[&[u8]]]) -> bool {
    h.windows(2).enumerate().any(|(j, p)| {
        let bit = pair_bit(p.first().copied().unwrap_or(0), p.get(1).copied().unwrap_or(0));
        pairs.get(bit / 64).is_some_and(|m| m & (1 << (bit % 64)) != 0)
            && h.get(j..).is_some_and(|rest| {
                lists.iter().any(|l| l.iter().any(|n| rest.get(..n.len()).is_some_and(|x| x.eq_ignore_ascii_case(n))))
            })
    })
}

/// Whether `w` is one of the [`EXACT`] words.
fn exact_word(w: &[u8]) -> bool {
    let Some(&first) = w.first() else { return false };
    let bits = EXACT_LENGTHS.get(first_bucket(first)).copied().unwrap_or(0);
    bits & (1 << w.len().min(15)) != 0
        && EXACT.iter().any(|l| l.iter().any(|x| x.len() == w.len() && w.eq_ignore_ascii_case(x)))
}

/// The words of a header line or cell, split as [`word_in`] splits them.
fn words(t: &[u8]) -> impl Iterator<Item = &[u8]> {
    t.split(|&c| !(c.is_ascii_alphanumeric() || c >= 0x80 || c == b'#'))
}

static INSIDE_PAIRS: [u64; 16] = pair_set(&INSIDE);

/// Everything [`column_kind`] looks for inside a cell.
const CELL_NEEDLES: [&[&[u8]]; 4] = [&ssn::CONTEXT, &PHONE_STEMS, &CARD_STEMS, &[b"credit"]];
static CELL_PAIRS: [u64; 16] = pair_set(&CELL_NEEDLES);

/// An exact superset of "[`column_kind`] of `cell` is not `Other`": one of its words is a header
/// word, or it holds one of the needles [`column_kind`] searches for. Most cells of a row that
/// only looks like a header (a line of prose with commas and the word "phone") fail it at the
/// cost of one pass.
fn may_name(cell: &[u8]) -> bool {
    words(cell).any(exact_word) || holds(cell, &CELL_PAIRS, &CELL_NEEDLES)
}

/// A quick superset of "some cell of `line` names a column" ([`column_kind`] ≠ `Other` for a
/// cell): one pass over the line's words (of at most 64 bytes), each compared with the header
/// words only when one of them has its first byte and length ([`EXACT_LENGTHS`]) and searched for
/// the needles of [`INSIDE`] only where one of their first byte pairs stands ([`pair_set`]), so lines
/// of code or prose cost little. Every word [`word_in`] can match is tested, and every needle
/// [`column_kind`] looks for inside a cell holds one of the needles tested here.
fn maybe_header(line: &[u8]) -> bool {
    words(line).any(|w| !w.is_empty() && w.len() <= 64 && (exact_word(w) || holds(w, &INSIDE_PAIRS, &INSIDE)))
}

fn contains_ci(h: &[u8], n: &[u8]) -> bool {
    h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

/// Cells of `line` split at `d` (a `"` quoted cell may hold `d`): (start, end) of each cell's
/// content, trimmed of spaces and quotes, in `out`; returns how many.
fn cells(line: &[u8], base: usize, d: u8, out: &mut [(usize, usize); MAX_COLS]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i <= line.len() && n < MAX_COLS {
        let start = i;
        let mut quoted = false;
        while let Some(&c) = line.get(i) {
            if c == b'"' {
                quoted = !quoted;
            } else if c == d && !quoted {
                break;
            }
            i += 1;
        }
        let (mut s, mut e) = (start, i);
        while s < e && matches!(line.get(s), Some(b' ' | b'"' | b'\'' | b'\r')) {
            s += 1;
        }
        while e > s && matches!(line.get(e - 1), Some(b' ' | b'"' | b'\'' | b'\r')) {
            e -= 1;
        }
        if let Some(slot) = out.get_mut(n) {
            *slot = (base + s, base + e);
        }
        n += 1;
        i += 1;
    }
    n
}

/// The digits of a cell made of digits and phone punctuation (`+ ( ) - . /` and spaces), or None.
fn cell_digits(v: &[u8], buf: &mut [u8; 20]) -> Option<usize> {
    let mut n = 0;
    for &c in v {
        if c.is_ascii_digit() {
            *buf.get_mut(n)? = c;
            n += 1;
        } else if !matches!(c, b'+' | b'(' | b')' | b'-' | b'.' | b'/' | b' ') {
            return None;
        }
    }
    Some(n)
}

/// A calendar date in one cell (`2021-08-23`, `31/07/2025`, `24-07-2023`, `07.31.2025`): three
/// groups with one separator, a year 1900–2099 first or last, a month 1–12 and a day 1–31. In a row
/// wider than its header (amounts with a decimal comma) a date can fall under a phone or SSN
/// column; no phone number or SSN is written so.
fn date_cell(v: &[u8]) -> bool {
    let Some(&sep) = v.iter().find(|c| !c.is_ascii_digit()) else { return false };
    let mut g = [0u32; 3];
    let mut lens = [0usize; 3];
    let mut parts = 0usize;
    for part in v.split(|&c| c == sep) {
        let (Some(x), Some(l)) = (g.get_mut(parts), lens.get_mut(parts)) else { return false };
        if part.is_empty() || part.len() > 4 || !part.iter().all(u8::is_ascii_digit) {
            return false;
        }
        *x = part.iter().fold(0, |a, &d| a * 10 + u32::from(d - b'0'));
        *l = part.len();
        parts += 1;
    }
    let year = |i: usize| lens.get(i) == Some(&4) && g.get(i).is_some_and(|y| (1900..=2099).contains(y));
    let small =
        |i: usize, max: u32| lens.get(i).is_some_and(|&l| l <= 2) && g.get(i).is_some_and(|x| (1..=max).contains(x));
    parts == 3
        && matches!(sep, b'-' | b'/' | b'.')
        && (year(0) && small(1, 12) && small(2, 31)
            || year(2) && small(0, 31) && small(1, 31) && (small(0, 12) || small(1, 12)))
}

fn value_ok(kind: Col, v: &[u8]) -> bool {
    if date_cell(v) {
        return false;
    }
    let mut buf = [0u8; 20];
    let Some(n) = cell_digits(v, &mut buf) else { return false };
    let d = buf.get(..n).unwrap_or(&[]);
    let first_digit = v.iter().position(u8::is_ascii_digit).unwrap_or(0);
    let plus = v.get(..first_digit).is_some_and(|p| p.contains(&b'+'));
    match kind {
        Col::Ssn => {
            let v = d.iter().fold(0u32, |a, &x| a.wrapping_mul(10).wrapping_add(u32::from(x - b'0')));
            n == 9 && ssn_ok(v / 1_000_000, (v / 10_000) % 100, v % 10_000)
        }
        Col::Phone => (7..=15).contains(&n) && phone::column_value(d, plus),
        // The header names the card: any Luhn-valid 12–19 digits (12-digit Maestro, odd prefixes).
        Col::Card => (12..=19).contains(&n) && luhn(d),
        Col::Other | Col::Version | Col::Id => false,
    }
}

/// The entity column a header cell names, if any (a fixed-width table reads no version or
/// identifier columns).
fn entity_column(cell: &[u8]) -> Option<Col> {
    match column_kind(cell) {
        c @ (Col::Phone | Col::Ssn | Col::Card) => Some(c),
        Col::Other | Col::Version | Col::Id => None,
    }
}

/// A finding for the value `s..e` of a fixed-width row under an entity column.
fn fixed_value(b: &[u8], s: usize, e: usize, col: Col, sink: &mut Sink) {
    let entity = match col {
        Col::Phone => Entity::Phone,
        Col::Ssn => Entity::UsSsn,
        Col::Card => Entity::CreditCard,
        Col::Other | Col::Version | Col::Id => return,
    };
    if sink.on.has(entity) && b.get(s..e).is_some_and(|v| value_ok(col, v)) {
        sink.push(s, e, entity);
    }
}

/// Findings for the cells `spans` of one data row under the columns `cols` (`width`: how many
/// cells the header row had); version and identifier cells go to `versions`.
fn data_row(
    b: &[u8],
    spans: &[(usize, usize)],
    cols: &[Col; MAX_COLS],
    width: usize,
    sink: &mut Sink,
    versions: &mut Vec<(usize, usize, Col)>,
) {
    let n = spans.len();
    for (k, &(s, e)) in spans.iter().enumerate() {
        let kind = cols.get(k).copied().unwrap_or(Col::Other);
        let entity = match kind {
            Col::Phone => Entity::Phone,
            Col::Ssn => Entity::UsSsn,
            Col::Card => Entity::CreditCard,
            Col::Version | Col::Id => {
                if sink.quads && e > s && n == width {
                    versions.push((s, e, kind));
                }
                continue;
            }
            Col::Other => continue,
        };
        if sink.on.has(entity) && b.get(s..e).is_some_and(|v| value_ok(kind, v)) {
            sink.push(s, e, entity);
        }
    }
}

/// A rule line under a header (psql's `-----+-----`, `=====`): only `-`, `+`, `=`, `:` and
/// spaces, with three or more dashes or equals signs.
fn rule_line(line: &[u8]) -> bool {
    line.iter().all(|c| matches!(c, b'-' | b'+' | b'=' | b':' | b' ' | b'\r'))
        && line.iter().filter(|&&c| c == b'-' || c == b'=').count() >= 3
}

/// The column pass over HTML tables and SQL INSERT statements ([`super::table_markup`]), only
/// for text that has a tag or an `insert`.
#[inline(never)]
fn markup_tables(b: &[u8], sink: &mut Sink, versions: &mut Vec<(usize, usize, Col)>) {
    let mut cols = [Col::Other; MAX_COLS];
    let mut width = 0usize;
    let mut have = false;
    let mut on_row = |r: Row<'_>| match r {
        Row::Header(spans) => {
            have = header_cells(b, spans, true, &mut cols);
            width = spans.len();
        }
        Row::Data(spans) if have => data_row(b, spans, &cols, width, sink, versions),
        Row::Data(_) => {}
        Row::End => have = false,
    };
    if b.windows(2).any(|w| w.first() == Some(&b'<') && w.get(1).is_some_and(|&c| c | 0x20 == b't')) {
        html_rows(b, &mut on_row);
    }
    sql_rows(b, &mut on_row);
}

/// Pushes findings for values under entity-naming headers (see the module comment), and drops
/// IPv4 findings that are a cell of a version column (`app_version`: `16.14.6.22`).
pub(crate) fn scan(b: &[u8], sink: &mut Sink) {
    // Version and identifier cells that may hold a finding to drop, in text order.
    let mut versions: Vec<(usize, usize, Col)> = Vec::new();
    let mut cols = [Col::Other; MAX_COLS];
    let mut spans = [(0usize, 0usize); MAX_COLS];
    // The delimiter of the current table, if a header was seen.
    let mut table: Option<u8> = None;
    // Cells in the header row: a version cell counts only in a row as wide (a row cut by a quoted
    // line break, or not a row at all, could put anything under the header).
    let mut width = 0usize;
    // The columns of the current fixed-width table, if a header was seen.
    let mut fixed: Option<Fixed<Col>> = None;
    let mut start = 0usize;
    while start <= b.len() {
        let end = record_end(b, start);
        let line = b.get(start..end).unwrap_or(&[]);
        if let Some(f) = fixed {
            if table_fixed::blank(line) {
                fixed = None;
            } else if let Some(h) = maybe_header(line).then(|| table_fixed::header(line, entity_column)).flatten() {
                fixed = Some(h);
            } else if !rule_line(line) {
                table_fixed::row(line, &f, |s, e, col| fixed_value(b, start + s, start + e, col, sink));
            }
            start = end + 1;
            continue;
        }
        match table {
            Some(d) if line.contains(&d) => {
                let n = cells(line, start, d, &mut spans);
                data_row(b, spans.get(..n).unwrap_or(&[]), &cols, width, sink, &mut versions);
                // A header row names no value of its own; a row naming columns again starts over.
                if n > 1 && maybe_header(line) && header(line, d, &mut cols) {
                    table = Some(d);
                    width = n;
                }
            }
            // psql draws a rule (`-----+-----`) between its header and the rows.
            Some(_) if rule_line(line) => {}
            _ => {
                // A header row has two cells or more: without a delimiter no line is one.
                table = if line.iter().any(|c| DELIMS.contains(c)) && maybe_header(line) {
                    DELIMS.iter().copied().find(|&d| line.contains(&d) && header(line, d, &mut cols))
                } else {
                    None
                };
                if let Some(d) = table {
                    width = cells(line, start, d, &mut spans);
                } else if line.windows(2).any(|w| w == b"  ") && maybe_header(line) {
                    // No delimiter: a fixed-width header has cells apart by two spaces or more.
                    fixed = table_fixed::header(line, entity_column);
                }
            }
        }
        start = end + 1;
    }
    markup_tables(b, sink, &mut versions);
    if !versions.is_empty() {
        versions.sort_unstable_by_key(|v| v.0);
        sink.out.retain(|f| {
            let vetoed = match f.kind {
                Kind::Builtin(Entity::IpAddress) => Col::Version,
                Kind::Builtin(Entity::Phone) => Col::Id,
                _ => return true,
            };
            // The last cell starting at or before the finding holds it, if any does.
            let k = versions.partition_point(|&(s, _, _)| s <= f.start);
            !(k > 0 && versions.get(k - 1).is_some_and(|&(_, e, col)| f.end <= e && col == vetoed))
        });
    }
}

/// End of the line at `start`, or of the record when a `"` quoted cell holds line breaks (a PEM
/// key or an address in a CSV cell): the record runs on while its quotes are unbalanced, at most
/// 64 lines and 16 KiB; a quote never closed within that ends the record at its own line.
fn record_end(b: &[u8], start: usize) -> usize {
    let line_end = |i: usize| b.get(i..).and_then(|r| r.iter().position(|&c| c == b'\n')).map_or(b.len(), |j| i + j);
    let quotes = |s: usize, e: usize| b.get(s..e).map_or(0, |r| r.iter().filter(|&&c| c == b'"').count());
    let first = line_end(start);
    let mut end = first;
    let mut q = quotes(start, end);
    let mut lines = 0;
    while q % 2 == 1 && end < b.len() && lines < 64 && end - start < 16 * 1024 {
        let next = line_end(end + 1);
        q += quotes(end + 1, next);
        end = next;
        lines += 1;
    }
    if q % 2 == 1 {
        first
    } else {
        end
    }
}

/// Reads `line` as a header row split at `d` into `cols` (left as they were otherwise); true when a column names an entity and
/// no cell holds a digit run of seven or more (a data row).
fn header(line: &[u8], d: u8, cols: &mut [Col; MAX_COLS]) -> bool {
    let mut spans = [(0usize, 0usize); MAX_COLS];
    let n = cells(line, 0, d, &mut spans);
    if n < 2 {
        return false;
    }
    // Dropping a finding needs more than finding one: a version column only counts in a row of
    // plain names (no empty cell but a markdown row's outer ones, no `:` `=` `{` `"` — not a
    // `"key": "value",` line of JSON).
    let plain = spans.iter().enumerate().take(n).all(|(k, &(s, e))| {
        let cell = line.get(s..e).unwrap_or(&[]);
        let outer = d == b'|' && (k == 0 || k + 1 == n);
        (!cell.is_empty() || outer) && !cell.iter().any(|c| matches!(c, b':' | b'=' | b'{' | b'"'))
    });
    header_cells(line, spans.get(..n).unwrap_or(&[]), plain, cols)
}

/// Reads the cells `spans` of `b` as a header row into `cols` (left as they were otherwise); true
/// when a column names an entity and no cell holds a digit run of seven or more. Version and
/// identifier columns count only when `plain` (a row of plain names).
fn header_cells(b: &[u8], spans: &[(usize, usize)], plain: bool, cols: &mut [Col; MAX_COLS]) -> bool {
    let mut found = [Col::Other; MAX_COLS];
    let mut any = false;
    for (k, &(s, e)) in spans.iter().enumerate() {
        let cell = b.get(s..e).unwrap_or(&[]);
        if cell.iter().filter(|c| c.is_ascii_digit()).count() >= 7 {
            return false;
        }
        // A redaction placeholder (`[US_SSN]`, `[PHONE:1a2b…]`) names no column: on a rescan a
        // redacted data row would otherwise read as a header and reset the table's columns.
        let placeholder = cell.first() == Some(&b'[') && cell.last() == Some(&b']');
        let mut kind = if placeholder || !may_name(cell) { Col::Other } else { column_kind(cell) };
        if matches!(kind, Col::Version | Col::Id) && !plain {
            kind = Col::Other;
        }
        any |= kind != Col::Other;
        if let Some(c) = found.get_mut(k) {
            *c = kind;
        }
    }
    if any {
        *cols = found;
    }
    any
}

#[cfg(test)]
mod tests {
    use super::super::Kind;
    use super::*;

    use crate::core::pii::{PiiConfig, PiiTally, Redactor};

    fn found(t: &str) -> Vec<(Entity, &str)> {
        let mut sink = Sink::all_on();
        scan(t.as_bytes(), &mut sink);
        sink.out
            .iter()
            .filter_map(|f| match f.kind {
                Kind::Builtin(e) => Some((e, &t[f.start..f.end])),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn header_named_columns_make_bare_values_candidates() {
        let csv = "name,ssn,phone\nRuiz,219099999,612 34 56 78\nLee,123456789,0171 1234567\n";
        assert_eq!(
            found(csv),
            vec![
                (Entity::UsSsn, "219099999"),
                (Entity::Phone, "612 34 56 78"),
                (Entity::UsSsn, "123456789"),
                (Entity::Phone, "0171 1234567")
            ]
        );
        let tsv = "Name\tTelefon\tOrder\nMüller\t301234567\t123456789\n";
        assert_eq!(found(tsv), vec![(Entity::Phone, "301234567")]);
        let md = "| name | SSN | card_number |\n|---|---|---|\n| Ruiz | 219099999 | 4111.1111.1111.1111 |\n";
        assert_eq!(found(md), vec![(Entity::UsSsn, "219099999"), (Entity::CreditCard, "4111.1111.1111.1111")]);
        let semi = "\"Nom\";\"Téléphone\"\n\"Ruiz\";\"612345678\"\n";
        assert_eq!(found(semi), vec![(Entity::Phone, "612345678")]);
    }

    #[test]
    fn card_and_ssn_headers_in_other_languages_name_their_columns() {
        let tsv = "id\tCarta di credito\tN\u{b0} s\u{e9}curit\u{e9} sociale (US)\n1\t060499493223\t219099999\n";
        assert_eq!(found(tsv), vec![(Entity::CreditCard, "060499493223"), (Entity::UsSsn, "219099999")]);
        // Still Luhn: a card column does not take any number.
        assert!(found("id\tKartennummer\n1\t060499493224\n").is_empty());
    }

    #[test]
    fn a_dotted_quad_in_a_version_column_is_no_address() {
        let r = Redactor::compile(&PiiConfig::default(), None, "t").ok();
        let scan = |t: &str| r.as_ref().and_then(|r| r.scan(t, &mut PiiTally::default()));
        let csv = "id,app_version,ip\n1,16.14.6.22,10.1.2.3\n2,2.2.2.69,10.1.2.4\n";
        assert_eq!(
            scan(csv).as_deref(),
            Some("id,app_version,ip\n1,16.14.6.22,[IP_ADDRESS]\n2,2.2.2.69,[IP_ADDRESS]\n")
        );
        let md = "| build | host |\n|---|---|\n| 15.4.5.149 | 8.8.8.8 |\n";
        assert_eq!(scan(md).as_deref(), Some("| build | host |\n|---|---|\n| 15.4.5.149 | [IP_ADDRESS] |\n"));
        // A quoted cell with line breaks keeps its row whole.
        let pem = "id,key,version\n1,\"-----BEGIN X-----\nabc\n-----END X-----\",16.14.6.22\n";
        assert_eq!(scan(pem), None);
        // Without the header the quad is an address; so it is in a row of another width, or
        // under a `"key": "value",` line that only looks like a header.
        assert_eq!(scan("1,16.14.6.22,x\n").as_deref(), Some("1,[IP_ADDRESS],x\n"));
        assert_eq!(scan("id,build\n1,2,8.8.8.8\n").as_deref(), Some("id,build\n1,2,[IP_ADDRESS]\n"));
        let json = "  \"app_version\": \"4.18.15.9\",\n  \"remote_addr\": \"8.8.8.8\",\n";
        assert_eq!(
            scan(json).as_deref(),
            Some("  \"app_version\": \"4.18.15.9\",\n  \"remote_addr\": \"[IP_ADDRESS]\",\n")
        );
    }

    #[test]
    fn html_tables_name_their_columns_with_th_cells() {
        let t = "<table>\n  <tr><th>Nombre</th><th>Tel\u{e9}fono</th><th>SSN</th><th>Numer karty</th></tr>\n  \
                 <tr><td>Ana</td><td>810054077</td><td>484869194</td><td>501872888125</td></tr>\n</table>\n\
                 <p>810054077</p>";
        assert_eq!(
            found(t),
            vec![(Entity::Phone, "810054077"), (Entity::UsSsn, "484869194"), (Entity::CreditCard, "501872888125")]
        );
        // After `</table>` the columns are forgotten; a row of `<td>` without a header names nothing.
        assert!(found("<table><tr><td>ssn</td><td>484869194</td></tr></table>").is_empty());
    }

    #[test]
    fn psql_tables_keep_their_columns_past_the_rule_and_the_padding() {
        let t = " email          | tfn           | ssn       | kortnummer\n\
                 ----------------+---------------+-----------+--------------\n \
                 a@example.com  | 08112258      | 485726119 | 501873140302\n\
                 (1 row)\n";
        assert_eq!(
            found(t),
            vec![(Entity::Phone, "08112258"), (Entity::UsSsn, "485726119"), (Entity::CreditCard, "501873140302")]
        );
        assert!(whole_cell(t.as_bytes(), t.find("08112258").unwrap(), t.find("08112258").unwrap() + 8));
    }

    #[test]
    fn sql_inserts_name_their_values_by_the_column_list() {
        let multi = "INSERT INTO `klanten` (`id`, `telefoonnummer`, `ssn`, `note`) VALUES\n\
                     (1, '612680744', '484869194', 'paid 12,50 \u{20ac}'),\n(2, '56915026', '233513423', 'x');\n";
        // The multi-row form also reads as a comma-delimited table; the overlap merge folds the two.
        let mut got = found(multi);
        let mut seen = Vec::new();
        got.retain(|f| {
            let new = !seen.contains(f);
            seen.push(*f);
            new
        });
        assert_eq!(
            got,
            vec![
                (Entity::Phone, "612680744"),
                (Entity::UsSsn, "484869194"),
                (Entity::Phone, "56915026"),
                (Entity::UsSsn, "233513423")
            ]
        );
        let single = "INSERT INTO kunden (id, ssn, telefon) VALUES (1, '552358304', '0664 199036');\n";
        assert_eq!(found(single), vec![(Entity::UsSsn, "552358304"), (Entity::Phone, "0664 199036")]);
        // A column that names nothing, or a value that fails validation, is left alone.
        assert!(found("INSERT INTO t (id, customer_no, ssn) VALUES (1, '484869194', '000123456');").is_empty());
    }

    #[test]
    fn version_columns_of_html_psql_and_sql_tables_keep_their_quads() {
        let r = Redactor::compile(&PiiConfig::default(), None, "t").ok();
        let scan = |t: &str| r.as_ref().and_then(|r| r.scan(t, &mut PiiTally::default()));
        let html = "<table><tr><th>version</th><th>ip</th></tr><tr><td>16.2.6.4</td><td>8.8.8.8</td></tr></table>";
        assert_eq!(
            scan(html).as_deref(),
            Some("<table><tr><th>version</th><th>ip</th></tr><tr><td>16.2.6.4</td><td>[IP_ADDRESS]</td></tr></table>")
        );
        let psql = " app_version | ip\n-------------+---------\n 16.2.6.4    | 8.8.8.8\n";
        assert_eq!(
            scan(psql).as_deref(),
            Some(" app_version | ip\n-------------+---------\n 16.2.6.4    | [IP_ADDRESS]\n")
        );
        let sql = "INSERT INTO t (id, version, ip) VALUES\n(1, '16.2.6.4', '8.8.8.8');";
        assert_eq!(
            scan(sql).as_deref(),
            Some("INSERT INTO t (id, version, ip) VALUES\n(1, '16.2.6.4', '[IP_ADDRESS]');")
        );
    }

    #[test]
    fn whole_cells_are_told_from_numbers_inside_text() {
        let t = b"a,219099999,\"+1 (415) 555-0132\"\n| 8.8.8.8 |\nid 1234567 x\n";
        assert!(whole_cell(t, 2, 11));
        assert!(whole_cell(t, 14, 30));
        assert!(whole_cell(t, 34, 41));
        assert!(!whole_cell(t, 47, 54));
        assert!(!whole_cell(t, 14, 25));
        assert!(whole_cell(b"1234567", 0, 7));
    }

    #[test]
    fn the_quick_header_check_passes_every_header_the_full_check_takes() {
        let headers = [
            "name,ssn,phone",
            "N\u{b0} s\u{e9}curit\u{e9} sociale (US)\tx",
            "Sozialversicherungsnummer;x",
            "id|card_number|x",
            "Kreditkarte,x",
            "Carta di credito,x",
            "SS No,x",
            "\u{793e}\u{4f1a}\u{4fdd}\u{969c}\u{756a}\u{53f7},x",
            "US\u{793e}\u{4f1a}\u{4fdd}\u{969c},x",
            "app_version,x",
            "T\u{e9}l\u{e9}phone;x",
            "creditcard\tx",
            "ss#,x",
            "telefoonnummer,x",
            "Betalingskort;x",
            "Nr tel.|x",
            "Kom\u{f3}rka,x",
        ];
        for h in headers {
            let mut cols = [Col::Other; MAX_COLS];
            let full = DELIMS.iter().any(|&d| header(h.as_bytes(), d, &mut cols));
            assert!(full, "{h}");
            assert!(maybe_header(h.as_bytes()), "{h}");
        }
        assert!(!maybe_header(b"for (let i = 0; i < n; i++) { total += prices[i]; }"));
    }

    #[test]
    fn the_quick_cell_check_passes_every_cell_the_full_check_names() {
        let mut named = 0;
        for list in EXACT.iter().chain(CELL_NEEDLES.iter()) {
            for w in list.iter() {
                for (pre, post) in [("", ""), ("Nr ", " (US)"), ("x_", "_no"), ("my", "s"), ("cla", "")] {
                    for upper in [false, true] {
                        let mut cell = [pre.as_bytes(), w, post.as_bytes()].concat();
                        if upper {
                            cell.make_ascii_uppercase();
                        }
                        if column_kind(&cell) != Col::Other {
                            named += 1;
                            assert!(may_name(&cell), "{}", String::from_utf8_lossy(&cell));
                        }
                    }
                }
            }
        }
        assert!(named > 300, "{named}");
        assert!(!may_name(b"Call me tomorrow about the bill"));
    }

    #[test]
    fn a_date_under_a_phone_or_ssn_column_is_a_date() {
        // Amounts with a decimal comma widen the row: the pay date falls under `phone`.
        let csv = "emp_no,name,gross,pay_date,phone\n3653,Ann Byrd,9 746,29 kr,2021-08-23,+46 72 133 60 37\n\
                   7810,Jo Hays,4 399,79 kr,31/07/2025,0712 345 678\n2240,Li Harris,60 829,76 kr,24-07-2023,x\n";
        let got = found(csv);
        assert!(got.iter().all(|(_, v)| !v.contains("202")), "{got:?}");
        for d in ["2021-08-23", "31/07/2025", "24-07-2023", "12.31.2024"] {
            assert!(date_cell(d.as_bytes()), "{d}");
        }
        for d in ["205-24-3451", "030/1234567", "2021-13-01", "08-69-47", "32/01/2025", "1/2/3/4"] {
            assert!(!date_cell(d.as_bytes()), "{d}");
        }
    }

    #[test]
    fn values_are_still_validated_and_other_columns_left_alone() {
        let csv = "id,ssn,phone,hotel\n1,000123456,12,4155550132\n2,n/a,call me,x\n";
        assert!(found(csv).is_empty());
    }

    #[test]
    fn a_table_ends_at_a_line_without_its_delimiter() {
        let t = "name,ssn\nRuiz,219099999\n\nnotes 219099999\n";
        assert_eq!(found(t), vec![(Entity::UsSsn, "219099999")]);
    }
}
