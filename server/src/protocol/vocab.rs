//! The protocol vocabulary as types (RFC 6749 §3.1.1, §4.1.3, §6; RFC 7636 §4.3; OIDC Core
//! §3.1.2.1): an unknown value fails to parse, it never falls back to a default.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "authorization_code" => Some(Self::AuthorizationCode),
            "refresh_token" => Some(Self::RefreshToken),
            "client_credentials" => Some(Self::ClientCredentials),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
        }
    }
}

/// Only `code`: no implicit, no hybrid (RFC 9700 §2.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseType {
    #[serde(rename = "code")]
    Code,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenEndpointAuthMethod {
    #[default]
    ClientSecretBasic,
    ClientSecretPost,
    None,
}

impl TokenEndpointAuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::None => "none",
        }
    }
}

/// OIDC Core §3.1.2.1 `prompt` values; `select_account` is accepted and treated as `login`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prompt {
    None,
    Login,
    Consent,
    SelectAccount,
}

impl Prompt {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(Self::None),
            "login" => Some(Self::Login),
            "consent" => Some(Self::Consent),
            "select_account" => Some(Self::SelectAccount),
            _ => None,
        }
    }
}

/// Authentication method references (RFC 8176 §2): how the person proved who they are.
/// Stored and released as their registered names; an unknown name does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Amr {
    /// A password (local account).
    Pwd,
    /// Federated: an upstream identity provider vouched for the person (RFC 8176 `fed`).
    Fed,
    /// A one-time password (TOTP).
    Otp,
    /// A hardware-bound key (a passkey that stays on its device).
    Hwk,
    /// A software-secured key (a synced passkey, RFC 8176 `swk`).
    Swk,
    /// More than one factor.
    Mfa,
}

impl Amr {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pwd => "pwd",
            Self::Fed => "fed",
            Self::Otp => "otp",
            Self::Hwk => "hwk",
            Self::Swk => "swk",
            Self::Mfa => "mfa",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Pwd,
            Self::Fed,
            Self::Otp,
            Self::Hwk,
            Self::Swk,
            Self::Mfa,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

/// The authentication context classes a sign-in can reach (OIDC Core §2 `acr`), weakest
/// first: a request's `acr_values` asks for one, and the ID token says which was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Acr {
    /// One factor: a password, or an upstream's word.
    #[serde(rename = "urn:ostiary:acr:1fa")]
    SingleFactor,
    /// Two factors (a password or upstream, then a one-time code or a passkey).
    #[serde(rename = "http://schemas.openid.net/pape/policies/2007/06/multi-factor")]
    MultiFactor,
    /// Multi-factor with a passkey, which answers only to this origin (phishing-resistant).
    #[serde(rename = "http://schemas.openid.net/pape/policies/2007/06/phishing-resistant")]
    PhishingResistant,
}

impl Acr {
    pub const ALL: [Acr; 3] = [Acr::SingleFactor, Acr::MultiFactor, Acr::PhishingResistant];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SingleFactor => "urn:ostiary:acr:1fa",
            Self::MultiFactor => "http://schemas.openid.net/pape/policies/2007/06/multi-factor",
            Self::PhishingResistant => {
                "http://schemas.openid.net/pape/policies/2007/06/phishing-resistant"
            }
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The class a sign-in with these methods reached.
    pub fn of(amr: &[Amr]) -> Self {
        let passkey = amr.contains(&Amr::Hwk) || amr.contains(&Amr::Swk);
        if passkey && amr.contains(&Amr::Mfa) {
            Self::PhishingResistant
        } else if amr.contains(&Amr::Mfa) {
            Self::MultiFactor
        } else {
            Self::SingleFactor
        }
    }
}

/// A set of scope tokens (RFC 6749 §3.3), kept sorted so equal sets print equally.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scopes(BTreeSet<String>);

pub const OPENID: &str = "openid";
pub const PROFILE: &str = "profile";
pub const EMAIL: &str = "email";
pub const OFFLINE_ACCESS: &str = "offline_access";
/// Not a standard scope: a client that may see the account's roles lists it in its `scope`.
pub const ROLES: &str = "roles";
pub const STANDARD_SCOPES: [&str; 4] = [OPENID, PROFILE, EMAIL, OFFLINE_ACCESS];

impl Scopes {
    /// Parse a space-separated list; `None` if a token has characters RFC 6749 §3.3 forbids.
    pub fn parse(s: &str) -> Option<Self> {
        let mut set = BTreeSet::new();
        for tok in s.split(' ').filter(|t| !t.is_empty()) {
            let ok = tok
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
            if !ok {
                return None;
            }
            set.insert(tok.to_owned());
        }
        Some(Self(set))
    }

    pub fn contains(&self, s: &str) -> bool {
        self.0.contains(s)
    }

    pub fn is_subset(&self, other: &Scopes) -> bool {
        self.0.is_subset(&other.0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn union(&self, other: &Scopes) -> Scopes {
        Scopes(self.0.union(&other.0).cloned().collect())
    }

    pub fn intersection(&self, other: &Scopes) -> Scopes {
        Scopes(self.0.intersection(&other.0).cloned().collect())
    }

    pub fn without(&self, s: &str) -> Scopes {
        Scopes(self.0.iter().filter(|t| *t != s).cloned().collect())
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(s)?;
            first = false;
        }
        Ok(())
    }
}

/// A role name: 1 to 64 of `A-Z a-z 0-9 : . _ -` (they travel in tokens).
pub fn valid_role(role: &str) -> bool {
    (1..=64).contains(&role.len())
        && role
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_into_a_sorted_set() {
        let s = Scopes::parse("openid  email openid").unwrap();
        assert_eq!(s.to_string(), "email openid");
    }

    #[test]
    fn scopes_with_forbidden_characters_do_not_parse() {
        assert!(Scopes::parse("open\"id").is_none());
        assert!(Scopes::parse("a\\b").is_none());
    }

    #[test]
    fn amr_values_round_trip_through_their_rfc_8176_names() {
        for a in [Amr::Pwd, Amr::Fed, Amr::Otp, Amr::Hwk, Amr::Swk, Amr::Mfa] {
            assert_eq!(Amr::parse(a.as_str()), Some(a));
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
        }
        assert_eq!(Amr::parse("password"), None);
    }

    #[test]
    fn unknown_grant_types_do_not_parse() {
        assert_eq!(GrantType::parse("password"), None);
        assert_eq!(
            GrantType::parse("refresh_token"),
            Some(GrantType::RefreshToken)
        );
    }
}
