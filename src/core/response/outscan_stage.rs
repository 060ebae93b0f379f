//! Stage 2 of the response pipeline ([`super::stage`]): output inspection. One
//! [`StreamScanner`] per channel, all counting into one tally for the audit record. Runs after
//! restore (stage 1): the values restore puts back arrive as `restored` ranges and are the user's
//! own data, never flagged nor rewritten.

use std::collections::BTreeMap;
use std::ops::Range;
use std::rc::Rc;

use super::outscan::{StreamScanner, MAX_HOLD};
use super::stage::{Channel, StageSignal, StageText, TextStage};
use crate::core::audit::{AuditRecord, Decision};
use crate::core::pii::{PiiTally, Redactor};
use crate::core::reason::Reason;

/// The output-inspection stage of one response.
#[derive(Debug)]
pub(crate) struct OutputInspection {
    redactor: Rc<Redactor>,
    channels: BTreeMap<Channel, StreamScanner>,
    tally: PiiTally,
    blocked: Option<String>,
    /// Most bytes one channel held at once (for measurement).
    pub(crate) max_held: usize,
}

impl OutputInspection {
    /// A stage scanning with the profile's output engine.
    pub(crate) fn new(redactor: Rc<Redactor>) -> Self {
        Self { redactor, channels: BTreeMap::new(), tally: PiiTally::default(), blocked: None, max_held: 0 }
    }

    fn signal(&mut self, result: Result<(), String>) -> StageSignal {
        match result {
            Ok(()) => StageSignal::Continue,
            Err(entity) => {
                self.channels.clear();
                self.blocked = Some(entity.clone());
                StageSignal::Block { entity }
            }
        }
    }
}

impl TextStage for OutputInspection {
    fn push(&mut self, channel: Channel, input: &str, restored: &[Range<usize>], out: &mut StageText) -> StageSignal {
        if let Some(entity) = &self.blocked {
            return StageSignal::Block { entity: entity.clone() };
        }
        let scanner = self.channels.entry(channel).or_default();
        let result = scanner.push(&self.redactor, input, restored, &mut self.tally, out);
        self.max_held = self.max_held.max(scanner.max_held);
        self.signal(result)
    }

    fn finish(&mut self, channel: Channel, out: &mut StageText) -> StageSignal {
        if let Some(entity) = &self.blocked {
            return StageSignal::Block { entity: entity.clone() };
        }
        let Some(mut scanner) = self.channels.remove(&channel) else { return StageSignal::Continue };
        let result = scanner.finish(&self.redactor, &mut self.tally, out);
        self.signal(result)
    }

    fn max_holdback(&self) -> usize {
        MAX_HOLD
    }

    fn strips_logprobs(&self) -> bool {
        true
    }

    fn record(&self, audit: &mut AuditRecord) {
        audit.set_output_findings(&self.tally);
        if self.blocked.is_some() {
            audit.decision = Decision::Deny;
            audit.reason(Reason::OutputBlocked);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::stage::ChannelKind;
    use super::*;
    use crate::core::policy::Policy;

    fn stage(entities: &str) -> OutputInspection {
        let cfg = format!(
            r#"{{"default_profile":"p","profiles":{{"p":{{"models":[],"output_pii":{{"entities":{entities}}}}}}}}}"#
        );
        let p = Policy::from_json(cfg.as_bytes()).unwrap();
        OutputInspection::new(p.profiles.into_iter().next().unwrap().output.unwrap())
    }

    const CONTENT: Channel = Channel { slot: 0, kind: ChannelKind::Content, part: 0 };
    const OTHER: Channel = Channel { slot: 1, kind: ChannelKind::Content, part: 0 };

    #[test]
    fn restored_values_are_not_flagged_and_keep_their_ranges() {
        let mut s = stage(r#"{"EMAIL":"redact"}"#);
        let mut out = StageText::default();
        // "jane@corp.example" was put back by restore; "leak@evil.example" is the model's own.
        let input = "to jane@corp.example and leak@evil.example now";
        let restored = [Range { start: 3, end: 20 }];
        assert_eq!(s.push(CONTENT, input, &restored, &mut out), StageSignal::Continue);
        assert_eq!(s.finish(CONTENT, &mut out), StageSignal::Continue);
        assert_eq!(out.text, "to jane@corp.example and [EMAIL] now");
        assert_eq!(out.restored, restored);
        let mut a = AuditRecord::new();
        s.record(&mut a);
        assert_eq!(a.output_findings.get("EMAIL", "redact"), Some(1));
    }

    #[test]
    fn channels_are_scanned_apart_and_a_block_ends_every_one() {
        let mut s = stage(r#"{"EMAIL":"redact","SECRETS":"block"}"#);
        let mut out = StageText::default();
        // Half an e-mail on one channel, the rest on another: no finding joins them.
        assert_eq!(s.push(CONTENT, "write jane.doe@", &[], &mut out), StageSignal::Continue);
        assert_eq!(s.push(OTHER, "example.com is", &[], &mut out), StageSignal::Continue);
        assert_eq!(s.finish(CONTENT, &mut out), StageSignal::Continue);
        assert_eq!(s.finish(OTHER, &mut out), StageSignal::Continue);
        assert!(!out.text.contains("[EMAIL]"), "{}", out.text);
        let key = "ghp_16C7e42F292c6912E7710c838347Ae178B4a";
        let mut out = StageText::default();
        // Held until a cut passes it (or the channel ends), then the block.
        assert_eq!(s.push(CONTENT, &format!("the token {key} wor"), &[], &mut out), StageSignal::Continue);
        let sig = s.push(CONTENT, "ks fine for the API.", &[], &mut out);
        assert_eq!(sig, StageSignal::Block { entity: "GITHUB_TOKEN".into() });
        assert!(!out.text.contains("ghp_"));
        assert!(matches!(s.push(OTHER, "more", &[], &mut out), StageSignal::Block { .. }));
        let mut a = AuditRecord::new();
        s.record(&mut a);
        assert_eq!(a.decision, Decision::Deny);
        assert_eq!(a.reasons, vec![Reason::OutputBlocked]);
        assert_eq!(a.output_findings.get("GITHUB_TOKEN", "block"), Some(1));
    }
}
