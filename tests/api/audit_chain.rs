//! The tamper-evident audit log: every record's keyed hash covers the previous one, so
//! `ostiary audit verify` names the first record that was edited, deleted or inserted; pruning
//! old records leaves a signed checkpoint; `ostiary audit list` prints records for admins.

use crate::helpers::*;
use ostiary::audit::chain::Finding;
use ostiary::audit::{AuditEvent, AuditKind, Origin};
use ostiary::clock::Clock;
use sea_orm::ConnectionTrait;

/// An app with `n` records written through the server's own code paths.
async fn app_with_records(n: usize) -> TestApp {
    let app = spawn_app().await;
    for i in 0..n {
        let e = AuditEvent::new(AuditKind::LoginFailed, app.clock.now(), &Origin::default())
            .email(format!("guess{i}@example.com"))
            .reason("wrong password");
        app.app_state.store.audit(e).await.unwrap();
    }
    app
}

fn key(app: &TestApp) -> [u8; 32] {
    // The key the server derived from its key-encryption key, derived the same way.
    let (kek, _) = ostiary::keys::KeyEncryptionKey::from_settings(&app.app_state.settings).unwrap();
    kek.derive(ostiary::audit::chain::KEY_LABEL)
}

async fn verify(app: &TestApp) -> Finding {
    app.app_state.store.verify_audit(&key(app)).await.unwrap()
}

async fn sql(app: &TestApp, statement: &str) {
    let db = sea_orm::Database::connect(&app.db_url).await.unwrap();
    db.execute_unprepared(statement).await.unwrap();
    db.close().await.unwrap();
}

#[tokio::test]
async fn an_untouched_log_verifies_and_a_sign_in_extends_it() {
    let app = app_with_records(3).await;
    app.code_for(&AuthorizeParams::new("webapp", "openid"))
        .await;
    match verify(&app).await {
        Finding::Intact { records, .. } => assert!(records >= 4, "{records}"),
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn an_edited_record_is_found_by_its_place() {
    let app = app_with_records(5).await;
    sql(
        &app,
        "UPDATE audit_events SET reason = 'nothing to see' WHERE seq = 3",
    )
    .await;
    assert!(matches!(
        verify(&app).await,
        Finding::Altered { seq: 3, .. }
    ));
}

#[tokio::test]
async fn a_deleted_record_is_found_in_the_middle_and_at_the_end() {
    let app = app_with_records(5).await;
    sql(&app, "DELETE FROM audit_events WHERE seq = 2").await;
    assert_eq!(verify(&app).await, Finding::Removed { seq: 2 });
    let app = app_with_records(5).await;
    sql(&app, "DELETE FROM audit_events WHERE seq = 5").await;
    assert_eq!(verify(&app).await, Finding::Removed { seq: 5 });
}

#[tokio::test]
async fn an_inserted_record_is_found_with_or_without_a_forged_place() {
    let app = app_with_records(3).await;
    sql(
        &app,
        "INSERT INTO audit_events (at, kind, detail, reason) VALUES (1, 'login_succeeded', '', 'forged')",
    )
    .await;
    assert!(matches!(verify(&app).await, Finding::Inserted { .. }));
    let app = app_with_records(3).await;
    sql(
        &app,
        "INSERT INTO audit_events (at, kind, detail, seq, chain_hash) VALUES (1, 'login_succeeded', '', 4, 'abc')",
    )
    .await;
    sql(&app, "UPDATE audit_chain SET seq = 4").await;
    assert!(matches!(
        verify(&app).await,
        Finding::Altered { seq: 4, .. }
    ));
}

#[tokio::test]
async fn pruning_old_records_keeps_the_chain_verifiable_and_a_moved_checkpoint_is_caught() {
    let app = app_with_records(150).await;
    app.clock.advance(86_400);
    let app_store = &app.app_state.store;
    let newer = AuditEvent::new(
        AuditKind::LoginSucceeded,
        app.clock.now(),
        &Origin::default(),
    );
    app_store.audit(newer).await.unwrap();
    let pruned = app_store
        .prune_audit(app.clock.now() - 3_600)
        .await
        .unwrap();
    assert_eq!(pruned, 150);
    assert_eq!(
        verify(&app).await,
        Finding::Intact {
            records: 1,
            before_chain: 0
        }
    );
    // Moving the checkpoint forward to hide the newest record's removal is detected.
    sql(&app, "DELETE FROM audit_events").await;
    sql(&app, "UPDATE audit_chain SET checkpoint_seq = 151").await;
    assert_eq!(verify(&app).await, Finding::CheckpointForged);
}

#[tokio::test]
async fn audit_list_and_verify_work_from_the_command_line() {
    let app = app_with_records(2).await;
    app.code_for(&AuthorizeParams::new("webapp", "openid"))
        .await;
    let run = |args: &'static [&'static str]| {
        let mut all = vec!["audit"];
        all.extend_from_slice(args);
        let app = &app;
        async move { ostiary_cli(app, &all).await }
    };
    assert_eq!(run(&["verify"]).await, 0);
    assert_eq!(run(&["list", "--json"]).await, 0);
    assert_eq!(run(&["list", "--email", EMAIL, "--since", "1d"]).await, 0);
    assert_eq!(run(&["list", "--kind", "login_succeeded"]).await, 0);
    assert_eq!(run(&["list", "--kind", "no_such_kind"]).await, 1);
    assert_eq!(run(&["list", "--since", "yesterday"]).await, 1);
    sql(
        &app,
        "UPDATE audit_events SET email = 'someone@else' WHERE seq = 1",
    )
    .await;
    assert_eq!(run(&["verify"]).await, 1);
}

#[tokio::test]
async fn audit_list_filters_by_account_email_client_kind_and_time() {
    let app = app_with_records(2).await;
    app.code_for(&AuthorizeParams::new("webapp", "openid"))
        .await;
    let store = &app.app_state.store;
    let all = |f: ostiary::store::AuditFilter| async move {
        store
            .audit_list(&ostiary::store::AuditFilter { limit: 100, ..f })
            .await
            .unwrap()
    };
    let mine = all(ostiary::store::AuditFilter {
        account_id: Some(ostiary::protocol::ids::AccountId::new(
            app.account_id.clone(),
        )),
        ..Default::default()
    })
    .await;
    let kinds: Vec<AuditKind> = mine.iter().map(|r| r.event.kind).collect();
    assert_eq!(
        kinds,
        [AuditKind::LoginSucceeded, AuditKind::ConsentGranted],
        "the sign-in and the consent are the account's"
    );
    let guesses = all(ostiary::store::AuditFilter {
        email: Some("guess1@example.com".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(guesses.len(), 1);
    let webapp = all(ostiary::store::AuditFilter {
        client_id: Some("webapp".into()),
        kind: Some(AuditKind::LoginSucceeded),
        ..Default::default()
    })
    .await;
    assert_eq!(webapp.len(), 1);
    let future = all(ostiary::store::AuditFilter {
        since: Some(app.clock.now() + 10),
        ..Default::default()
    })
    .await;
    assert!(future.is_empty());
}

#[tokio::test]
async fn records_written_at_once_from_many_tasks_form_one_unbroken_chain() {
    let app = app_with_records(0).await;
    let writes = (0..40).map(|i| {
        let store = app.app_state.store.clone();
        let at = app.clock.now();
        tokio::spawn(async move {
            let e = AuditEvent::new(AuditKind::LoginFailed, at, &Origin::default())
                .email(format!("parallel{i}@example.com"));
            store.audit(e).await.unwrap();
        })
    });
    for w in writes.collect::<Vec<_>>() {
        w.await.unwrap();
    }
    assert_eq!(
        verify(&app).await,
        Finding::Intact {
            records: 40,
            before_chain: 0
        }
    );
}
