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
    if !crate::accounts::valid_role(role) {
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
