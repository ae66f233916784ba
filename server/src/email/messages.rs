//! The messages Ostiary sends, each a pair of askama templates in templates/email/ (a text part
//! and an HTML part, the HTML one extending email/layout.html) and a subject.

use askama::Template;

/// A message ready for the outbox.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub kind: &'static str,
    pub subject: &'static str,
    pub text: String,
    pub html: String,
}

/// Declares a message: its fields, a text and an HTML template struct over the same fields,
/// and `render`.
macro_rules! message {
    ($name:ident, $kind:literal, $subject:literal, $txt:literal, $html:literal, { $($field:ident),* }) => {
        pub struct $name<'a> {
            pub site: &'a str,
            $(pub $field: &'a str,)*
        }

        impl $name<'_> {
            pub fn render(&self) -> Result<Rendered, askama::Error> {
                #[derive(Template)]
                #[template(path = $txt)]
                struct Text<'b> {
                    site: &'b str,
                    $($field: &'b str,)*
                }
                #[derive(Template)]
                #[template(path = $html)]
                struct Html<'b> {
                    site: &'b str,
                    $($field: &'b str,)*
                }
                Ok(Rendered {
                    kind: $kind,
                    subject: $subject,
                    text: Text { site: self.site, $($field: self.$field,)* }.render()?,
                    html: Html { site: self.site, $($field: self.$field,)* }.render()?,
                })
            }
        }
    };
}

message!(VerifyEmail, "verify_email", "Confirm your email address",
    "email/verify_email.txt", "email/verify_email.html", { code, link, minutes });
message!(
    AlreadyRegistered,
    "already_registered",
    "You already have an account",
    "email/already_registered.txt",
    "email/already_registered.html",
    { reset_url }
);
message!(PasswordReset, "password_reset", "Reset your password",
    "email/password_reset.txt", "email/password_reset.html", { link, minutes });
message!(ChangeEmail, "change_email", "Confirm your new email address",
    "email/change_email.txt", "email/change_email.html", { code, minutes });
message!(
    EmailChanged,
    "email_changed",
    "Your email address was changed",
    "email/email_changed.txt",
    "email/email_changed.html",
    { new_address }
);
message!(
    AddressInUse,
    "address_in_use",
    "This address is already in use",
    "email/address_in_use.txt",
    "email/address_in_use.html",
    {}
);
message!(
    PasswordChanged,
    "password_changed",
    "Your password was changed",
    "email/password_changed.txt",
    "email/password_changed.html",
    {}
);
message!(
    FactorChanged,
    "factor_changed",
    "Your two-step sign-in changed",
    "email/factor_changed.txt",
    "email/factor_changed.html",
    { change }
);
message!(
    TestMessage,
    "test",
    "Test message from Ostiary",
    "email/test.txt",
    "email/test.html",
    {}
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verification_message_carries_its_code_and_link_in_both_parts_with_html_escaped() {
        let m = VerifyEmail {
            site: "id.example.com",
            code: "123456",
            link: "https://id.example.com/verify/link?t=a&b",
            minutes: "15",
        }
        .render()
        .unwrap();
        assert!(m.text.contains("123456") && m.html.contains("123456"));
        assert!(m.text.contains("https://id.example.com/verify/link?t=a&b"));
        assert!(m.html.contains("t=a&#38;b"), "{}", m.html);
        assert!(m.html.contains("Sent by id.example.com"));
    }
}
