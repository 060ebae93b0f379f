//! The built-in entity types, their names in configuration and placeholders, and their defaults.

use crate::core::config::Action;

/// A built-in entity type. Custom patterns and dictionaries have names of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Entity {
    /// E-mail address.
    Email,
    /// Telephone number (NANP and international).
    Phone,
    /// US social security number.
    UsSsn,
    /// Payment card number (Luhn and IIN checked).
    CreditCard,
    /// International bank account number (length table and mod-97 checked).
    Iban,
    /// IPv4 or IPv6 address.
    IpAddress,
    /// OpenRouter API key `sk-or-v1-<64 hex>`.
    OpenrouterKey,
    /// OpenAI API key `sk-…`, `sk-proj-…`.
    OpenaiKey,
    /// Anthropic API key `sk-ant-…`.
    AnthropicKey,
    /// AWS access key id `AKIA…`, `ASIA…`.
    AwsAccessKey,
    /// AWS secret access key (40 chars, next to a `secret` context word).
    AwsSecretKey,
    /// GitHub token `ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`.
    GithubToken,
    /// Slack token `xoxa-`, `xoxb-`, `xoxp-`, `xoxr-`, app-level `xapp-`.
    SlackToken,
    /// Google API key `AIza…`.
    GoogleApiKey,
    /// Stripe secret or restricted key `sk_live_`, `rk_live_` (and `_test_`).
    StripeKey,
    /// JSON Web Token (three base64url segments, header with `alg`).
    Jwt,
    /// PEM private-key block, BEGIN to END.
    PrivateKey,
    /// The value after `Bearer ` (e.g. in `Authorization: Bearer …`).
    BearerToken,
    /// A person's name after a context cue ("my name is", "Dear", "Name:").
    Person,
    /// A street address (number, street name, street type, optional unit/city/postcode).
    Address,
}

/// Number of built-in entities (length of [`Entity::ALL`]).
pub(crate) const ENTITY_COUNT: usize = 20;

/// The name of the group key that sets every secret entity at once.
pub(crate) const SECRETS_GROUP: &str = "SECRETS";

impl Entity {
    /// Every built-in entity, in index order.
    pub const ALL: [Entity; ENTITY_COUNT] = [
        Entity::Email,
        Entity::Phone,
        Entity::UsSsn,
        Entity::CreditCard,
        Entity::Iban,
        Entity::IpAddress,
        Entity::OpenrouterKey,
        Entity::OpenaiKey,
        Entity::AnthropicKey,
        Entity::AwsAccessKey,
        Entity::AwsSecretKey,
        Entity::GithubToken,
        Entity::SlackToken,
        Entity::GoogleApiKey,
        Entity::StripeKey,
        Entity::Jwt,
        Entity::PrivateKey,
        Entity::BearerToken,
        Entity::Person,
        Entity::Address,
    ];

    /// Position in [`Entity::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Configuration and placeholder name, e.g. `EMAIL`.
    pub fn name(self) -> &'static str {
        match self {
            Entity::Email => "EMAIL",
            Entity::Phone => "PHONE",
            Entity::UsSsn => "US_SSN",
            Entity::CreditCard => "CREDIT_CARD",
            Entity::Iban => "IBAN",
            Entity::IpAddress => "IP_ADDRESS",
            Entity::OpenrouterKey => "OPENROUTER_KEY",
            Entity::OpenaiKey => "OPENAI_KEY",
            Entity::AnthropicKey => "ANTHROPIC_KEY",
            Entity::AwsAccessKey => "AWS_ACCESS_KEY",
            Entity::AwsSecretKey => "AWS_SECRET_KEY",
            Entity::GithubToken => "GITHUB_TOKEN",
            Entity::SlackToken => "SLACK_TOKEN",
            Entity::GoogleApiKey => "GOOGLE_API_KEY",
            Entity::StripeKey => "STRIPE_KEY",
            Entity::Jwt => "JWT",
            Entity::PrivateKey => "PRIVATE_KEY",
            Entity::BearerToken => "BEARER_TOKEN",
            Entity::Person => "PERSON",
            Entity::Address => "ADDRESS",
        }
    }

    /// Looks an entity up by its configuration name (exact, upper case).
    pub fn from_name(name: &str) -> Option<Entity> {
        Entity::ALL.iter().copied().find(|e| e.name() == name)
    }

    /// Whether the entity is a credential (member of the `SECRETS` group).
    pub fn is_secret(self) -> bool {
        matches!(
            self,
            Entity::OpenrouterKey
                | Entity::OpenaiKey
                | Entity::AnthropicKey
                | Entity::AwsAccessKey
                | Entity::AwsSecretKey
                | Entity::GithubToken
                | Entity::SlackToken
                | Entity::GoogleApiKey
                | Entity::StripeKey
                | Entity::Jwt
                | Entity::PrivateKey
                | Entity::BearerToken
        )
    }

    /// The action used when the configuration does not mention the entity: the high-confidence
    /// entities and every secret are redacted; the context-guessed PERSON and ADDRESS are off.
    pub fn default_action(self) -> Action {
        match self {
            Entity::Person | Entity::Address => Action::Off,
            _ => Action::Redact,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entity_round_trips_through_its_name_and_index() {
        for (i, e) in Entity::ALL.iter().enumerate() {
            assert_eq!(e.index(), i);
            assert_eq!(Entity::from_name(e.name()), Some(*e));
        }
        assert_eq!(Entity::from_name("email"), None);
    }

    #[test]
    fn person_and_address_are_off_by_default_and_secrets_redacted() {
        assert_eq!(Entity::Person.default_action(), Action::Off);
        assert_eq!(Entity::Address.default_action(), Action::Off);
        assert_eq!(Entity::Jwt.default_action(), Action::Redact);
        assert!(Entity::PrivateKey.is_secret());
        assert!(!Entity::Email.is_secret());
    }
}
