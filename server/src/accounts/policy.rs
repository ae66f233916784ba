//! The password policy (NIST SP 800-63B §3.1.1.2, OWASP ASVS 5.0 V6.2): a minimum length in
//! characters, a maximum in bytes (the same at creation and sign-in), no composition rules,
//! Unicode NFKC normalisation before hashing, and a refusal of passwords that are common or too
//! guessable (zxcvbn's dictionaries of common passwords, names and words; score below 3, i.e.
//! fewer than 10^10 guesses), with the reason shown to the person.

use unicode_normalization::UnicodeNormalization as _;

use crate::config::PasswordSettings;
use crate::secret::Secret;

/// Longest password accepted anywhere, in bytes of its UTF-8 form (ASVS 6.2.9 asks that 64
/// characters be allowed; this allows at least 256 of any script).
pub const MAX_BYTES: usize = 1024;

/// Why a new password is refused, in words for the person choosing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Weakness {
    #[error("Use at least {0} characters.")]
    TooShort(usize),
    #[error("Use at most {MAX_BYTES} bytes.")]
    TooLong,
    #[error("This password is too easy to guess. {0}")]
    Guessable(String),
}

/// The rules a new password must meet.
#[derive(Debug, Clone)]
pub struct PasswordPolicy {
    min_chars: usize,
}

impl PasswordPolicy {
    pub fn new(settings: &PasswordSettings) -> Self {
        Self {
            min_chars: settings.min_length,
        }
    }

    /// Check a new password for the person known by `email` and `name` (either may be absent).
    pub fn check_for(
        &self,
        password: &Secret,
        email: Option<&str>,
        name: Option<&str>,
    ) -> Result<(), Weakness> {
        let context: Vec<&str> = [email, name].into_iter().flatten().collect();
        self.check(password, &context)
    }

    /// Check a new password; `context` holds what the person is known by (email, name), which
    /// the password must not merely repeat.
    pub fn check(&self, password: &Secret, context: &[&str]) -> Result<(), Weakness> {
        let p = normalise(password);
        let p = p.expose();
        if p.len() > MAX_BYTES {
            return Err(Weakness::TooLong);
        }
        if p.chars().count() < self.min_chars {
            return Err(Weakness::TooShort(self.min_chars));
        }
        // The person's own email or name, however punctuated, is no password.
        let letters = |t: &str| -> String {
            t.chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect()
        };
        let core = letters(p);
        let stem = core.trim_end_matches(|d: char| d.is_ascii_digit());
        if !stem.is_empty()
            && context
                .iter()
                .map(|c| letters(c))
                .any(|c| c.len() >= 4 && (c.contains(stem) || stem == c))
        {
            return Err(Weakness::Guessable(
                "It repeats your email address or name.".into(),
            ));
        }
        let mut inputs: Vec<&str> = context.to_vec();
        // The parts of an email are as guessable as the whole.
        for c in context {
            if let Some((local, domain)) = c.split_once('@') {
                inputs.push(local);
                inputs.extend(domain.split('.'));
            }
        }
        inputs.extend(["ostiary", "password"]);
        let estimate = zxcvbn::zxcvbn(p, &inputs);
        if estimate.score() >= zxcvbn::Score::Three {
            return Ok(());
        }
        let advice = estimate
            .feedback()
            .map(|f| {
                let mut words: Vec<String> =
                    f.warning().map(|w| w.to_string()).into_iter().collect();
                words.extend(f.suggestions().iter().map(ToString::to_string));
                words.join(" ")
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "Add another word or two; uncommon words are better.".into());
        Err(Weakness::Guessable(advice))
    }
}

/// The form a password is hashed in: Unicode NFKC, so the same password typed on another
/// keyboard or system (composed or decomposed accents, full-width forms) matches.
pub fn normalise(password: &Secret) -> Secret {
    Secret::new(password.expose().nfkc().collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PasswordPolicy {
        PasswordPolicy::new(&PasswordSettings::default())
    }

    #[test]
    fn a_long_uncommon_passphrase_is_accepted() {
        assert_eq!(
            policy().check(&Secret::new("correct horse battery staple"), &[]),
            Ok(())
        );
    }

    #[test]
    fn short_common_and_self_referential_passwords_are_refused_with_a_reason() {
        let p = policy();
        assert_eq!(
            p.check(&Secret::new("Tr0ub4dor&3"), &[]),
            Err(Weakness::TooShort(12))
        );
        assert!(matches!(
            p.check(&Secret::new("password1234"), &[]),
            Err(Weakness::Guessable(_))
        ));
        assert!(matches!(
            p.check(&Secret::new("qwertyuiopasdf"), &[]),
            Err(Weakness::Guessable(_))
        ));
        assert!(matches!(
            p.check(
                &Secret::new("alice.liddell1"),
                &["alice.liddell@example.com", "Alice Liddell"]
            ),
            Err(Weakness::Guessable(_))
        ));
        assert!(matches!(
            p.check(&Secret::new("bob.example.org"), &["bob@example.org"]),
            Err(Weakness::Guessable(_))
        ));
        assert_eq!(
            p.check(&Secret::new("x".repeat(MAX_BYTES + 1)), &[]),
            Err(Weakness::TooLong)
        );
    }

    #[test]
    fn length_counts_characters_after_normalisation() {
        // Twelve characters of a non-Latin script meet a twelve-character minimum.
        let s = Secret::new("гладкий камень у реки");
        assert_ne!(policy().check(&s, &[]), Err(Weakness::TooShort(12)));
        // A decomposed "é" (e + U+0301) and a composed one normalise alike.
        assert_eq!(
            normalise(&Secret::new("caf\u{0065}\u{0301}")).expose(),
            normalise(&Secret::new("caf\u{00e9}")).expose()
        );
        // Full-width letters become ASCII.
        assert_eq!(normalise(&Secret::new("ｐａｓｓ")).expose(), "pass");
    }
}
