//! A multi-pattern matcher (Aho–Corasick compiled to a DFA over byte classes), used for exact-term
//! dictionaries and for the literal prefixes of custom patterns: one pass over the text finds every
//! occurrence of every term, however many terms there are.
//!
//! Matching folds ASCII case (terms are stored lower case; `A`–`Z` share the class of `a`–`z`).
//! Bytes that occur in no term share class 0, so the table has one column per distinct term byte.
//! Memory is `states × classes × 4` bytes; building refuses tables above [`MAX_TABLE`] entries.

use std::collections::VecDeque;

const NONE: u32 = u32::MAX;
/// Largest transition table accepted (entries; 4 bytes each).
pub(crate) const MAX_TABLE: usize = 1 << 22;

/// The compiled matcher.
#[derive(Debug, Clone)]
pub(crate) struct Automaton {
    classes: [u8; 256],
    stride: usize,
    trans: Vec<u32>,
    out_head: Vec<u32>,
    /// (pattern id, next entry) linked lists of outputs.
    outs: Vec<(u32, u32)>,
    lens: Vec<u32>,
}

impl Automaton {
    /// Builds the matcher; pattern `i` is reported as id `i`. Patterns must be non-empty; they are
    /// matched with ASCII case folded.
    pub(crate) fn build(patterns: &[Vec<u8>]) -> Result<Self, String> {
        let mut classes = [0u8; 256];
        let mut n_classes = 1usize;
        for p in patterns {
            for &b in p {
                let lb = b.to_ascii_lowercase();
                if classes.get(usize::from(lb)).copied() == Some(0) {
                    if n_classes > 255 {
                        return Err("too many distinct bytes in terms".into());
                    }
                    let cls = n_classes as u8;
                    n_classes += 1;
                    if let Some(slot) = classes.get_mut(usize::from(lb)) {
                        *slot = cls;
                    }
                    if lb.is_ascii_lowercase() {
                        if let Some(slot) = classes.get_mut(usize::from(lb.to_ascii_uppercase())) {
                            *slot = cls;
                        }
                    }
                }
            }
        }
        let stride = n_classes;
        let cls_of = |b: u8| usize::from(classes.get(usize::from(b)).copied().unwrap_or(0));
        let mut trans: Vec<u32> = vec![NONE; stride];
        let mut own: Vec<Vec<u32>> = vec![Vec::new()];
        let mut lens = Vec::with_capacity(patterns.len());
        for (id, p) in patterns.iter().enumerate() {
            if p.is_empty() {
                return Err("empty term".into());
            }
            let mut st = 0usize;
            for &b in p {
                let idx = st * stride + cls_of(b);
                let next = trans.get(idx).copied().unwrap_or(NONE);
                st = if next == NONE {
                    let new = own.len();
                    if (new + 1) * stride > MAX_TABLE {
                        return Err(format!(
                            "terms need more than {MAX_TABLE} table entries; use fewer or shorter terms"
                        ));
                    }
                    trans.extend(std::iter::repeat_n(NONE, stride));
                    own.push(Vec::new());
                    if let Some(slot) = trans.get_mut(idx) {
                        *slot = new as u32;
                    }
                    new
                } else {
                    next as usize
                };
            }
            if let Some(o) = own.get_mut(st) {
                o.push(id as u32);
            }
            lens.push(p.len() as u32);
        }
        let states = own.len();
        let mut fail = vec![0u32; states];
        let mut out_head = vec![NONE; states];
        let mut outs: Vec<(u32, u32)> = Vec::new();
        let mut link_outputs = |state: usize, fail_head: u32, out_head: &mut Vec<u32>| {
            let mut head = fail_head;
            for &pid in own.get(state).map(Vec::as_slice).unwrap_or(&[]).iter().rev() {
                outs.push((pid, head));
                head = (outs.len() - 1) as u32;
            }
            if let Some(h) = out_head.get_mut(state) {
                *h = head;
            }
        };
        link_outputs(0, NONE, &mut out_head);
        let mut queue = VecDeque::new();
        for c in 0..stride {
            match trans.get(c).copied() {
                Some(NONE) | None => {
                    if let Some(slot) = trans.get_mut(c) {
                        *slot = 0;
                    }
                }
                Some(child) => {
                    let root_head = out_head.first().copied().unwrap_or(NONE);
                    link_outputs(child as usize, root_head, &mut out_head);
                    queue.push_back(child as usize);
                }
            }
        }
        while let Some(r) = queue.pop_front() {
            let fr = fail.get(r).copied().unwrap_or(0) as usize;
            for c in 0..stride {
                let via_fail = trans.get(fr * stride + c).copied().unwrap_or(0);
                let idx = r * stride + c;
                match trans.get(idx).copied() {
                    Some(NONE) | None => {
                        if let Some(slot) = trans.get_mut(idx) {
                            *slot = via_fail;
                        }
                    }
                    Some(child) => {
                        let child = child as usize;
                        if let Some(f) = fail.get_mut(child) {
                            *f = via_fail;
                        }
                        let fail_head = out_head.get(via_fail as usize).copied().unwrap_or(NONE);
                        link_outputs(child, fail_head, &mut out_head);
                        queue.push_back(child);
                    }
                }
            }
        }
        Ok(Self { classes, stride, trans, out_head, outs, lens })
    }

    /// Length in bytes of pattern `id`.
    pub(crate) fn pattern_len(&self, id: usize) -> usize {
        self.lens.get(id).map_or(0, |&l| l as usize)
    }

    /// Calls `f(pattern id, end offset)` for every occurrence (overlapping ones included).
    #[inline]
    pub(crate) fn for_each_match(&self, hay: &[u8], mut f: impl FnMut(usize, usize)) {
        let mut st = 0usize;
        for (i, &b) in hay.iter().enumerate() {
            let cls = usize::from(self.classes.get(usize::from(b)).copied().unwrap_or(0));
            st = self.trans.get(st * self.stride + cls).copied().unwrap_or(0) as usize;
            let mut o = self.out_head.get(st).copied().unwrap_or(NONE);
            while o != NONE {
                let Some(&(pid, next)) = self.outs.get(o as usize) else { break };
                f(pid as usize, i + 1);
                o = next;
            }
        }
    }

    /// Approximate heap size in bytes (for the tests).
    #[cfg(test)]
    pub(crate) fn heap_bytes(&self) -> usize {
        self.trans.len() * 4 + self.out_head.len() * 4 + self.outs.len() * 8 + self.lens.len() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(pats: &[&str], hay: &str) -> Vec<(usize, usize)> {
        let a = Automaton::build(&pats.iter().map(|p| p.as_bytes().to_vec()).collect::<Vec<_>>()).unwrap();
        let mut v = Vec::new();
        a.for_each_match(hay.as_bytes(), |id, end| v.push((id, end - a.pattern_len(id))));
        v.sort();
        v
    }

    #[test]
    fn it_finds_overlapping_and_nested_terms_case_insensitively() {
        assert_eq!(all(&["he", "she", "his", "hers"], "uSHErs"), vec![(0, 2), (1, 1), (3, 2)]);
        assert_eq!(all(&["blue heron", "heron"], "a Blue Heron!"), vec![(0, 2), (1, 7)]);
    }

    #[test]
    fn a_thousand_terms_build_and_match() {
        let pats: Vec<Vec<u8>> = (0..1000).map(|i| format!("term{i:04}x").into_bytes()).collect();
        let a = Automaton::build(&pats).unwrap();
        let mut n = 0;
        a.for_each_match(b"xx term0999x and TERM0001X", |_, _| n += 1);
        assert_eq!(n, 2);
        assert!(a.heap_bytes() < 2_000_000);
    }

    #[test]
    fn empty_terms_are_refused() {
        assert!(Automaton::build(&[Vec::new()]).is_err());
    }
}
