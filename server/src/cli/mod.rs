//! The `ostiary` command line. Every subcommand takes `--config PATH`.

mod accounts;
mod audit;

pub use accounts::{MfaCommand, RolesCommand};

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::config::{ConfigError, DEFAULT_CONFIG_PATH, Settings, Severity};
use crate::keys::{KeyEncryptionKey, KeySet};
use crate::secret::Secret;
use crate::startup::{Application, open_store};

#[derive(Parser)]
#[command(
    name = "ostiary",
    version,
    about = "Ostiary: an OAuth 2.0 / OpenID Connect identity provider"
)]
pub struct Cli {
    /// The configuration file.
    #[arg(long, global = true, default_value = DEFAULT_CONFIG_PATH, env = "OSTIARY_CONFIG")]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the provider.
    Serve {
        /// Do not apply pending migrations at start.
        #[arg(long)]
        no_migrate: bool,
    },
    /// Check the configuration and print every problem (exit 1 on errors).
    CheckConfig,
    /// Apply pending database migrations.
    Migrate,
    /// Manage local accounts.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Print a new random client secret and the hash to put in client_secret_hash.
    ClientSecret,
    /// Manage signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Check email delivery.
    Email {
        #[command(subcommand)]
        command: EmailCommand,
    },
    /// Browser sessions: list them, or end an account's (or one by id).
    Sessions {
        #[command(subcommand)]
        command: accounts::SessionsCommand,
    },
    /// Read and check the audit log.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// Copy the embedded SQLite database, consistently, while the server runs (VACUUM INTO).
    /// For PostgreSQL use pg_dump.
    Backup {
        /// The copy to write; it must not exist yet.
        #[arg(long)]
        to: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum EmailCommand {
    /// Send a test message through `[email] smtp_url` at once (not through the outbox).
    Test {
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Create a local account; the password is read from standard input.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password_stdin: bool,
        /// Read the password from this file instead (a mounted secret, say).
        #[arg(long, conflicts_with = "password_stdin")]
        password_file: Option<PathBuf>,
        #[arg(long)]
        name: Option<String>,
        /// The email is not verified yet: the person confirms it with a code at the first
        /// sign-in (when `[registration] require_verified_email`).
        #[arg(long)]
        unverified: bool,
        /// Skip the strength check of `[passwords]` (tests and imports; the length limit stays).
        #[arg(long)]
        allow_weak_password: bool,
    },
    /// List accounts.
    List,
    /// End the sign-in lockout of an email after repeated wrong passwords.
    Unlock {
        #[arg(long)]
        email: String,
    },
    /// Everything about an account: identities, factors, sessions, roles, lockout.
    Show {
        #[arg(long)]
        email: String,
    },
    /// Stop an account from signing in: its sessions and refresh-token families end.
    Disable {
        #[arg(long)]
        email: String,
    },
    /// Let a disabled account sign in again.
    Enable {
        #[arg(long)]
        email: String,
    },
    /// Delete an account, its sessions, grants, consents, identities and factors.
    Delete {
        #[arg(long)]
        email: String,
    },
    /// Set a new password (read from standard input); every session of the account ends.
    SetPassword {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password_stdin: bool,
        /// Read the password from this file instead.
        #[arg(long, conflicts_with = "password_stdin")]
        password_file: Option<PathBuf>,
    },
    /// Mark the account's email verified.
    VerifyEmail {
        #[arg(long)]
        email: String,
    },
    /// List an account's second factors (`users mfa --email E`), or remove them
    /// (`users mfa reset --email E`: every session of the account ends too).
    /// An account's roles (`roles` claim for clients with the `roles` scope).
    Roles {
        #[command(subcommand)]
        action: RolesCommand,
    },
    #[command(subcommand_negates_reqs = true)]
    Mfa {
        #[arg(long, required = true)]
        email: Option<String>,
        #[command(subcommand)]
        action: Option<MfaCommand>,
    },
}

#[derive(Subcommand)]
pub enum KeysCommand {
    /// List signing keys and their state.
    List,
    /// Publish a new signing key, which signs a minute later (once every instance publishes
    /// it); the old one stays in the JWKS until its tokens expire.
    Rotate {
        /// Sign with the new key at once (the old key stays published until its tokens
        /// expire; for a compromised key use `keys revoke`).
        #[arg(long)]
        now: bool,
    },
    /// Revoke a key (compromised): it leaves the JWKS and every instance's verifiers within
    /// the reload interval, so the tokens it signed stop working; a new key signs at once if
    /// it was signing.
    Revoke {
        /// The key id (`kid`), as `keys list` shows it.
        kid: String,
    },
}

fn load(path: &std::path::Path) -> anyhow::Result<Settings> {
    Settings::load(path).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Set up logging for this command: `serve` logs as its `[log]` section says, every other
/// command (and a config that does not load) as the defaults say.
pub fn init_logs(cli: &Cli) {
    let log = match cli.command {
        Command::Serve { .. } => Settings::load(&cli.config)
            .map(|s| s.log)
            .unwrap_or_default(),
        _ => crate::config::LogSettings::default(),
    };
    crate::telemetry::init(&log);
}

pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Serve { no_migrate } => {
            let mut settings = load(&cli.config)?;
            if no_migrate {
                settings.server.migrate_on_start = false;
            }
            let app = Application::build(settings, Arc::new(SystemClock)).await?;
            #[cfg(unix)]
            let hangups = crate::reload::watch_sighup(app.live());
            let signals = app.stop_on_signals()?;
            tracing::info!(port = app.port(), "ostiary is listening");
            app.run_until_stopped().await?;
            signals.abort();
            #[cfg(unix)]
            if let Some(task) = hangups {
                task.abort();
            }
            Ok(0)
        }
        Command::CheckConfig => Ok(check_config(&cli.config)),
        Command::Migrate => {
            let settings = load(&cli.config)?;
            let store = open_store(&settings).await?;
            let pending = store.pending_migrations().await?;
            store.migrate().await?;
            println!("applied {} migration(s)", pending.len());
            Ok(0)
        }
        Command::Users { command } => users(&cli.config, command).await,
        Command::Backup { to } => {
            let settings = load(&cli.config)?;
            let store = open_store(&settings).await?;
            if !store.is_sqlite_file() {
                eprintln!(
                    "error: `ostiary backup` copies the embedded SQLite file; back up PostgreSQL with pg_dump (see the README)"
                );
                return Ok(2);
            }
            if to.exists() {
                eprintln!("error: {} exists already", to.display());
                return Ok(1);
            }
            store.backup_to(&to).await?;
            println!("copied the database to {}", to.display());
            Ok(0)
        }
        Command::Sessions { command } => {
            let settings = load(&cli.config)?;
            let (store, _) = open_store_with_audit(&settings).await?;
            accounts::sessions(&store, command).await
        }
        Command::Audit { command } => {
            let settings = load(&cli.config)?;
            let (store, key) = open_store_with_audit(&settings).await?;
            audit::run(&store, &key, command).await
        }
        Command::ClientSecret => {
            let secret = crate::tokens::opaque::random_token();
            println!("client_secret      = \"{}\"", secret.expose());
            println!(
                "client_secret_hash = \"{}\"",
                crate::clients::SecretHash::of(secret.expose())
            );
            Ok(0)
        }
        Command::Keys { command } => keys(&cli.config, command).await,
        Command::Email {
            command: EmailCommand::Test { to },
        } => email_test(&cli.config, &to).await,
    }
}

async fn email_test(path: &std::path::Path, to: &str) -> anyhow::Result<i32> {
    let settings = load(path)?;
    let env = |k: &str| std::env::var(k).ok();
    let mailer = crate::email::Mailer::new(&settings.email, &settings.issuer, &env)?;
    let Some(transport) = mailer.transport() else {
        println!(
            "error: no SMTP server to send through: set [email] smtp_url (dev_outbox keeps messages instead)"
        );
        return Ok(1);
    };
    let m = crate::email::messages::TestMessage {
        site: mailer.site(),
    }
    .render()?;
    let outgoing = crate::email::Outgoing {
        to,
        subject: m.subject,
        text: &m.text,
        html: &m.html,
    };
    match transport.send(&outgoing).await {
        Ok(()) => {
            println!("sent a test message to {to}");
            Ok(0)
        }
        Err(e) => {
            println!("error: {e}");
            Ok(1)
        }
    }
}

fn check_config(path: &std::path::Path) -> i32 {
    let settings = match Settings::load(path) {
        Ok(s) => s,
        Err(ConfigError::Invalid(problems)) => {
            for p in problems {
                println!("{p}");
            }
            return 1;
        }
        Err(e) => {
            println!("error: {e}");
            return 1;
        }
    };
    let env = |k: &str| std::env::var(k).ok();
    let problems = crate::startup::check_config(&settings, &env);
    for p in &problems {
        println!("{p}");
    }
    if problems.iter().any(|p| p.severity == Severity::Error) {
        return 1;
    }
    println!(
        "{}: ok ({} client(s))",
        path.display(),
        settings.clients.len()
    );
    0
}

/// The store, migrated, with the audit chain's key loaded (commands that write or check the
/// audit log need the key-encryption key for it).
async fn open_store_with_audit(
    settings: &Settings,
) -> anyhow::Result<(crate::store::Store, [u8; 32])> {
    let store = open_store(settings).await?;
    store.migrate().await?;
    let (kek, _) = KeyEncryptionKey::from_settings(settings)?;
    let key = kek.derive(crate::audit::chain::KEY_LABEL);
    store.set_audit_key(key);
    Ok((store, key))
}

async fn users(path: &std::path::Path, command: UsersCommand) -> anyhow::Result<i32> {
    let settings = load(path)?;
    let (store, _) = open_store_with_audit(&settings).await?;
    match command {
        UsersCommand::Add {
            email,
            password_stdin,
            password_file,
            name,
            unverified,
            allow_weak_password,
        } => {
            let mut input = String::new();
            match (password_stdin, password_file) {
                (_, Some(path)) => {
                    input = std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?;
                }
                (true, None) => {
                    std::io::stdin()
                        .read_to_string(&mut input)
                        .context("reading the password")?;
                }
                (false, None) => anyhow::bail!(
                    "pass --password-stdin (and write the password to standard input) or --password-file PATH"
                ),
            }
            let password = Secret::new(input.trim_end_matches(['\n', '\r']));
            let policy = crate::accounts::policy::PasswordPolicy::new(&settings.passwords);
            let new = crate::accounts::NewAccount {
                email: &email,
                name,
                password: &password,
                email_verified: !unverified,
                policy: (!allow_weak_password).then_some(&policy),
            };
            let account = match crate::accounts::create_local(&store, new, SystemClock.now()).await
            {
                Ok(a) => a,
                Err(crate::accounts::AccountError::WeakPassword(w)) => {
                    println!(
                        "error: the password is refused: {w} (--allow-weak-password skips the check)"
                    );
                    return Ok(1);
                }
                Err(e) => return Err(e.into()),
            };
            println!("created {} ({})", account.label(), account.id);
        }
        UsersCommand::List => {
            println!("id\temail\tverified\tname\tsigns in with");
            for a in store.list_accounts().await? {
                let mut ways: Vec<String> = store
                    .identities_of(&a.id)
                    .await?
                    .into_iter()
                    .map(|l| l.upstream_id.into_string())
                    .collect();
                if a.password_hash.is_some() {
                    ways.insert(0, "password".into());
                }
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    a.id,
                    a.email.as_deref().unwrap_or("-"),
                    if a.email_verified { "yes" } else { "no" },
                    a.name.as_deref().unwrap_or("-"),
                    ways.join(",")
                );
            }
        }
        UsersCommand::Unlock { email } => {
            crate::accounts::unlock(&store, &email).await?;
            println!("unlocked {}", crate::accounts::normalise_email(&email));
        }
        UsersCommand::Mfa { email, action } => return accounts::mfa(&store, email, action).await,
        UsersCommand::Show { email } => return accounts::show(&store, &email).await,
        UsersCommand::Disable { email } => return accounts::disable(&store, &email, true).await,
        UsersCommand::Enable { email } => return accounts::disable(&store, &email, false).await,
        UsersCommand::Delete { email } => return accounts::delete(&store, &email).await,
        UsersCommand::VerifyEmail { email } => return accounts::verify_email(&store, &email).await,
        UsersCommand::SetPassword {
            email,
            password_stdin,
            password_file,
        } => {
            let mut input = String::new();
            match (password_stdin, password_file) {
                (_, Some(path)) => {
                    input = std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?;
                }
                (true, None) => {
                    std::io::stdin()
                        .read_to_string(&mut input)
                        .context("reading the password")?;
                }
                (false, None) => {
                    anyhow::bail!("pass --password-stdin or --password-file PATH")
                }
            }
            let password = Secret::new(input.trim_end_matches(['\n', '\r']));
            return accounts::set_password(&store, &settings, &email, password).await;
        }
        UsersCommand::Roles { action } => return accounts::roles(&store, action).await,
    }
    Ok(0)
}

async fn keys(path: &std::path::Path, command: KeysCommand) -> anyhow::Result<i32> {
    let settings = load(path)?;
    let (store, _) = open_store_with_audit(&settings).await?;
    let (kek, _) = KeyEncryptionKey::from_settings(&settings)?;
    let now = SystemClock.now();
    match command {
        KeysCommand::List => {
            let stored = store.signing_keys().await?;
            if stored.is_empty() {
                println!("no keys yet: the first one is generated when `serve` starts");
            }
            let at = |t: i64| {
                chrono::DateTime::from_timestamp(t, 0)
                    .map(|d| d.to_rfc3339())
                    .unwrap_or_default()
            };
            let days = i64::from(settings.keys.rotate_after_days);
            let due = KeySet::rotation_due(&stored, days * 86_400, now);
            for k in stored {
                let state = if let Some(r) = k.revoked_at {
                    format!("revoked at {} (not published, not trusted)", at(r))
                } else if k.active_from > now {
                    format!("next (published; signs from {})", at(k.active_from))
                } else if k.signs_at(now) {
                    "active (signing)".to_owned()
                } else {
                    format!("retired at {}", at(k.retired_at.unwrap_or(now)))
                };
                let created = chrono::DateTime::from_timestamp(k.created_at, 0)
                    .map(|d| d.to_rfc3339())
                    .unwrap_or_default();
                println!("{}\tRS256\tcreated {created}\t{state}", k.kid);
            }
            match due {
                _ if days == 0 => {
                    println!("scheduled rotation: off ([keys] rotate_after_days = 0)")
                }
                Some(t) => println!(
                    "scheduled rotation: the next key is published at {} (every {days} days), and signs a minute later",
                    at(t.max(now))
                ),
                None => println!("scheduled rotation: a new key is waiting to sign"),
            }
        }
        KeysCommand::Rotate { now: at_once } => {
            let delay = if at_once {
                0
            } else {
                crate::keys::ROTATION_DELAY_SECONDS
            };
            let kid = KeySet::rotate(&store, &kek, now, delay).await?;
            key_audit(&store, crate::audit::AuditKind::KeyRotated, &kid, now).await?;
            println!(
                "new signing key {kid}: published within {} seconds, signing in {delay} seconds",
                crate::keys::RELOAD_INTERVAL_SECONDS
            );
            if at_once {
                println!(
                    "the old key stays published until its tokens expire; for a compromised key use `ostiary keys revoke KID`"
                );
            }
        }
        KeysCommand::Revoke { kid } => match KeySet::revoke(&store, &kek, &kid, now).await? {
            crate::keys::Revoked::Revoked { replaced_by } => {
                key_audit(&store, crate::audit::AuditKind::KeyRevoked, &kid, now).await?;
                println!(
                    "revoked {kid}: every instance drops it within {} seconds; tokens it signed no longer verify",
                    crate::keys::RELOAD_INTERVAL_SECONDS
                );
                if let Some(new) = replaced_by {
                    println!("new signing key {new} signs from now on");
                }
            }
            crate::keys::Revoked::Unknown => {
                eprintln!("no signing key {kid} that is not revoked already");
                return Ok(1);
            }
        },
    }
    Ok(0)
}

/// Audit a key command (the key id is public: it is in the JWKS).
async fn key_audit(
    store: &crate::store::Store,
    kind: crate::audit::AuditKind,
    kid: &str,
    now: i64,
) -> anyhow::Result<()> {
    let event = crate::audit::AuditEvent::new(kind, now, &crate::audit::Origin::default())
        .reason(format!("ostiary keys: {kid}"));
    store.audit(event).await?;
    Ok(())
}
