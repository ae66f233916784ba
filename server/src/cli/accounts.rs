//! `ostiary users roles` and `ostiary users mfa`: an account's roles and second factors, for
//! administrators. Every change is audited.

use clap::Subcommand;

use crate::clock::{Clock, SystemClock};

#[derive(Subcommand)]
pub enum RolesCommand {
    Add {
        #[arg(long)]
        email: String,
        role: String,
    },
    Remove {
        #[arg(long)]
        email: String,
        role: String,
    },
    List {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
pub enum MfaCommand {
    /// Remove every second factor of the account (a lost phone and no recovery codes); the
    /// account signs in with its first factor again and enrols anew where MFA is required.
    Reset {
        #[arg(long)]
        email: String,
    },
}

pub async fn roles(store: &crate::store::Store, action: RolesCommand) -> anyhow::Result<i32> {
    let (email, change) = match &action {
        RolesCommand::Add { email, role } => (email, Some((true, role.as_str()))),
        RolesCommand::Remove { email, role } => (email, Some((false, role.as_str()))),
        RolesCommand::List { email } => (email, None),
    };
    let email = crate::accounts::normalise_email(email);
    let Some(account) = store.account_by_email(&email).await? else {
        println!("error: no account has the email {email}");
        return Ok(1);
    };
    let Some((add, role)) = change else {
        for r in store.roles_of(&account.id).await? {
            println!("{r}");
        }
        return Ok(0);
    };
    if !crate::protocol::vocab::valid_role(role) {
        println!("error: a role is 1 to 64 of A-Z a-z 0-9 : . _ -");
        return Ok(1);
    }
    let now = SystemClock.now();
    let (changed, kind) = if add {
        (
            store.add_role(&account.id, role, now).await?,
            crate::audit::AuditKind::RoleGranted,
        )
    } else {
        (
            store.remove_role(&account.id, role).await?,
            crate::audit::AuditKind::RoleRevoked,
        )
    };
    if changed {
        let event = crate::audit::AuditEvent::new(kind, now, &crate::audit::Origin::default())
            .account(&account.id)
            .reason(format!("ostiary users roles: {role}"));
        store.audit(event).await?;
    }
    println!("{email}: {}", store.roles_of(&account.id).await?.join(" "));
    Ok(0)
}

pub async fn mfa(
    store: &crate::store::Store,
    email: Option<String>,
    action: Option<MfaCommand>,
) -> anyhow::Result<i32> {
    let (email, reset) = match (action, email) {
        (Some(MfaCommand::Reset { email }), _) => (email, true),
        (None, Some(email)) => (email, false),
        (None, None) => anyhow::bail!("pass --email"),
    };
    let email = crate::accounts::normalise_email(&email);
    let Some(account) = store.account_by_email(&email).await? else {
        println!("error: no account has the email {email}");
        return Ok(1);
    };
    let summary = store.factor_summary(&account.id).await?;
    let date = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default()
    };
    if !reset {
        println!("factor\tsince\tlast used");
        if let Some(since) = summary.totp_since {
            let last = summary.totp_last_used.map(date).unwrap_or("-".into());
            println!("authenticator app (TOTP)\t{}\t{last}", date(since));
        }
        for p in store.passkeys_of(&account.id).await? {
            let last = p.last_used_at.map(date).unwrap_or("-".into());
            let kind = if p.backup_eligible {
                "synced"
            } else {
                "device-bound"
            };
            println!(
                "passkey \"{}\" ({kind})\t{}\t{last}",
                p.name,
                date(p.created_at)
            );
        }
        if summary.recovery_codes_left > 0 {
            println!("recovery codes\t-\t{} left", summary.recovery_codes_left);
        }
        return Ok(0);
    }
    let now = SystemClock.now();
    store.remove_factors(&account.id, true, now).await?;
    crate::accounts::factors::unlock(store, &account.id).await?;
    let event = crate::audit::AuditEvent::new(
        crate::audit::AuditKind::FactorsReset,
        now,
        &crate::audit::Origin::default(),
    )
    .account(&account.id)
    .reason("ostiary users mfa reset");
    store.audit(event).await?;
    println!(
        "removed the second factors of {email}{}; every session of the account has ended",
        if summary.any() { "" } else { " (it had none)" }
    );
    Ok(0)
}

async fn find(
    store: &crate::store::Store,
    email: &str,
) -> anyhow::Result<Option<crate::store::Account>> {
    let email = crate::accounts::normalise_email(email);
    let found = store.account_by_email(&email).await?;
    if found.is_none() {
        println!("error: no account has the email {email}");
    }
    Ok(found)
}

async fn record(
    store: &crate::store::Store,
    kind: crate::audit::AuditKind,
    account: &crate::store::Account,
    what: &str,
) -> anyhow::Result<()> {
    let event =
        crate::audit::AuditEvent::new(kind, SystemClock.now(), &crate::audit::Origin::default())
            .account(&account.id)
            .reason(format!("ostiary users {what}"));
    store.audit(event).await?;
    Ok(())
}

fn when(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// `users show`: everything about an account.
pub async fn show(store: &crate::store::Store, email: &str) -> anyhow::Result<i32> {
    let Some(a) = find(store, email).await? else {
        return Ok(1);
    };
    let now = SystemClock.now();
    println!("id\t{}", a.id);
    println!(
        "email\t{} ({})",
        a.email.as_deref().unwrap_or("-"),
        if a.email_verified {
            "verified"
        } else {
            "not verified"
        }
    );
    println!("name\t{}", a.name.as_deref().unwrap_or("-"));
    println!("created\t{}", when(a.created_at));
    println!(
        "password\t{}",
        if a.password_hash.is_some() {
            "yes"
        } else {
            "no"
        }
    );
    println!(
        "disabled\t{}",
        if store.account_disabled(&a.id).await? {
            "yes"
        } else {
            "no"
        }
    );
    for l in store.identities_of(&a.id).await? {
        println!("identity\t{} {}", l.upstream_id, l.subject);
    }
    let f = store.factor_summary(&a.id).await?;
    println!(
        "factors\tauthenticator app: {}, passkeys: {}, recovery codes left: {}",
        if f.totp_since.is_some() { "yes" } else { "no" },
        f.passkeys,
        f.recovery_codes_left
    );
    println!("roles\t{}", store.roles_of(&a.id).await?.join(" "));
    if let Some(e) = &a.email {
        let l = store
            .login_failures(&crate::accounts::lockout_key(e))
            .await?;
        let locked = l.locked_until.filter(|t| *t > now).map(when);
        println!(
            "lockout\t{} failures{}",
            l.failures,
            locked
                .map(|t| format!(", locked until {t}"))
                .unwrap_or_default()
        );
    }
    for s in store.sessions_of(&a.id, now).await? {
        println!(
            "session\t{}\t{}\tlast used {}",
            s.id_hash,
            s.ip.as_deref().unwrap_or("-"),
            when(s.last_seen_at)
        );
    }
    Ok(0)
}

/// `users disable` / `users enable`.
pub async fn disable(store: &crate::store::Store, email: &str, off: bool) -> anyhow::Result<i32> {
    let Some(a) = find(store, email).await? else {
        return Ok(1);
    };
    use crate::audit::AuditKind;
    if off {
        if store.disable_account(&a.id, SystemClock.now()).await? {
            record(store, AuditKind::AccountDisabled, &a, "disable").await?;
        }
        println!(
            "{} is disabled; its sessions and refresh tokens have ended",
            a.label()
        );
    } else {
        if store.enable_account(&a.id).await? {
            record(store, AuditKind::AccountEnabled, &a, "enable").await?;
        }
        println!("{} can sign in", a.label());
    }
    Ok(0)
}

/// `users delete`.
pub async fn delete(store: &crate::store::Store, email: &str) -> anyhow::Result<i32> {
    let Some(a) = find(store, email).await? else {
        return Ok(1);
    };
    store.delete_account(&a.id, SystemClock.now()).await?;
    record(store, crate::audit::AuditKind::AccountDeleted, &a, "delete").await?;
    println!("deleted {}", a.label());
    Ok(0)
}

/// `users verify-email`.
pub async fn verify_email(store: &crate::store::Store, email: &str) -> anyhow::Result<i32> {
    let Some(a) = find(store, email).await? else {
        return Ok(1);
    };
    store.set_email_verified(&a.id).await?;
    record(
        store,
        crate::audit::AuditKind::EmailVerified,
        &a,
        "verify-email",
    )
    .await?;
    println!("{} is verified", a.label());
    Ok(0)
}

/// `users set-password`: the policy applies; every session and grant of the account ends.
pub async fn set_password(
    store: &crate::store::Store,
    settings: &crate::config::Settings,
    email: &str,
    password: crate::secret::Secret,
) -> anyhow::Result<i32> {
    let Some(a) = find(store, email).await? else {
        return Ok(1);
    };
    let policy = crate::accounts::policy::PasswordPolicy::new(&settings.passwords);
    if let Err(w) = policy.check_for(&password, a.email.as_deref(), a.name.as_deref()) {
        println!("error: the password is refused: {w}");
        return Ok(1);
    }
    let hash = crate::accounts::password::hash_blocking(password).await?;
    let change = crate::store::PasswordChange {
        account_id: &a.id,
        hash,
        proof_id: None,
        keep_session: None,
        lockout_key: a.email.as_deref().map(crate::accounts::lockout_key),
        reason: "password set by an administrator",
    };
    store.set_password(change, SystemClock.now()).await?;
    record(
        store,
        crate::audit::AuditKind::PasswordChanged,
        &a,
        "set-password",
    )
    .await?;
    println!(
        "the password of {} is set; its sessions have ended",
        a.label()
    );
    Ok(0)
}

#[derive(Subcommand)]
pub enum SessionsCommand {
    /// Live browser sessions, of one account or of all.
    List {
        #[arg(long)]
        email: Option<String>,
    },
    /// End every session of an account (`--email`), or one session (`--id`, from `list`).
    Revoke {
        #[arg(long, conflicts_with = "id", required_unless_present = "id")]
        email: Option<String>,
        #[arg(long)]
        id: Option<String>,
    },
}

/// `sessions list` and `sessions revoke`.
pub async fn sessions(
    store: &crate::store::Store,
    command: SessionsCommand,
) -> anyhow::Result<i32> {
    let now = SystemClock.now();
    match command {
        SessionsCommand::List { email } => {
            let accounts = match email {
                Some(e) => match find(store, &e).await? {
                    Some(a) => vec![a],
                    None => return Ok(1),
                },
                None => store.list_accounts().await?,
            };
            println!("id\taccount\tip\tstarted\tlast used");
            for a in accounts {
                for s in store.sessions_of(&a.id, now).await? {
                    println!(
                        "{}\t{}\t{}\t{}\t{}",
                        s.id_hash,
                        a.label(),
                        s.ip.as_deref().unwrap_or("-"),
                        when(s.created_at),
                        when(s.last_seen_at)
                    );
                }
            }
            Ok(0)
        }
        SessionsCommand::Revoke { email: Some(e), .. } => {
            let Some(a) = find(store, &e).await? else {
                return Ok(1);
            };
            store.sign_out_everywhere(&a.id, now).await?;
            record(
                store,
                crate::audit::AuditKind::SignedOutEverywhere,
                &a,
                "sessions revoke",
            )
            .await?;
            println!("every session and refresh token of {} has ended", a.label());
            Ok(0)
        }
        SessionsCommand::Revoke { id: Some(id), .. } => {
            let found = store.session(&id, now).await?;
            let Some(s) = found else {
                println!("error: no live session has the id {id}");
                return Ok(1);
            };
            store
                .end_session_of(&s.account_id, &id, "revoked by an administrator", now)
                .await?;
            let event = crate::audit::AuditEvent::new(
                crate::audit::AuditKind::SessionEnded,
                now,
                &crate::audit::Origin::default(),
            )
            .account(&s.account_id)
            .reason("ostiary sessions revoke");
            store.audit(event).await?;
            println!("session {id} has ended");
            Ok(0)
        }
        SessionsCommand::Revoke { .. } => anyhow::bail!("pass --email or --id"),
    }
}
