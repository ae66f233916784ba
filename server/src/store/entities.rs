//! sea-orm entities, one module per table; visible only inside `store`.
#![allow(clippy::all)]

macro_rules! relation_free {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}
        impl ActiveModelBehavior for ActiveModel {}
    };
}

pub mod accounts {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "accounts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub email: Option<String>,
        pub email_verified: bool,
        pub name: Option<String>,
        pub password_hash: Option<String>,
        pub created_at: i64,
    }
    relation_free!();
}

pub mod signing_keys {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "signing_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub kid: String,
        pub public_jwk: String,
        pub private_key_enc: String,
        pub created_at: i64,
        pub retired_at: Option<i64>,
        pub active_from: Option<i64>,
        pub revoked_at: Option<i64>,
    }
    relation_free!();
}

pub mod browser_sessions {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "browser_sessions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id_hash: String,
        pub account_id: String,
        pub auth_time: i64,
        pub amr: String,
        pub idp: Option<String>,
        pub created_at: i64,
        pub expires_at: i64,
        pub ip: Option<String>,
        pub user_agent: Option<String>,
        pub last_seen_at: Option<i64>,
        pub sid: Option<String>,
    }
    relation_free!();
}

pub mod auth_requests {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "auth_requests")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub client_id: String,
        pub request_json: String,
        pub created_at: i64,
        pub expires_at: i64,
        pub stage_json: Option<String>,
        pub revision: i64,
    }
    relation_free!();
}

pub mod grants {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "grants")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub client_id: String,
        pub account_id: String,
        pub scope: String,
        pub auth_time: i64,
        pub amr: String,
        pub idp: Option<String>,
        pub created_at: i64,
        pub expires_at: i64,
        pub revoked_at: Option<i64>,
        pub revoked_reason: Option<String>,
        pub acr: Option<String>,
        pub sid: Option<String>,
    }
    relation_free!();
    impl Related<super::accounts::Entity> for Entity {
        fn to() -> RelationDef {
            Entity::belongs_to(super::accounts::Entity)
                .from(Column::AccountId)
                .to(super::accounts::Column::Id)
                .into()
        }
    }
}

pub mod auth_codes {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "auth_codes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub code_hash: String,
        pub grant_id: String,
        pub client_id: String,
        pub account_id: String,
        pub redirect_uri: String,
        pub scope: String,
        pub nonce: Option<String>,
        pub pkce_challenge: Option<String>,
        pub auth_time: i64,
        pub created_at: i64,
        pub expires_at: i64,
        pub consumed_at: Option<i64>,
    }
    relation_free!();
    impl Related<super::grants::Entity> for Entity {
        fn to() -> RelationDef {
            Entity::belongs_to(super::grants::Entity)
                .from(Column::GrantId)
                .to(super::grants::Column::Id)
                .into()
        }
    }
}

pub mod refresh_tokens {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "refresh_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub token_hash: String,
        pub grant_id: String,
        pub client_id: String,
        pub scope: String,
        pub created_at: i64,
        pub expires_at: i64,
        pub rotated_at: Option<i64>,
    }
    relation_free!();
}

pub mod access_tokens {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "access_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub jti: String,
        pub grant_id: Option<String>,
        pub client_id: String,
        pub expires_at: i64,
        pub revoked_at: Option<i64>,
    }
    relation_free!();
}

pub mod consents {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "consents")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub account_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub client_id: String,
        pub scope: String,
        pub updated_at: i64,
    }
    relation_free!();
}

pub mod audit_events {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_events")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub at: i64,
        pub kind: String,
        pub account_id: Option<String>,
        pub client_id: Option<String>,
        pub detail: String,
        pub upstream_id: Option<String>,
        pub grant_id: Option<String>,
        pub email: Option<String>,
        pub reason: Option<String>,
        pub ip: Option<String>,
        pub user_agent: Option<String>,
        pub seq: Option<i64>,
        pub chain_hash: Option<String>,
    }
    relation_free!();
}

pub mod audit_chain {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_chain")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        pub seq: i64,
        pub hash: String,
        pub checkpoint_seq: i64,
        pub checkpoint_hash: String,
        pub checkpoint_mac: String,
    }
    relation_free!();
}

pub mod upstream_identities {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "upstream_identities")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub upstream_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub subject: String,
        pub account_id: String,
        pub email: Option<String>,
        pub created_at: i64,
        pub last_login_at: i64,
    }
    relation_free!();
}

pub mod upstream_logins {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "upstream_logins")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub state_hash: String,
        pub upstream_id: String,
        pub binding_hash: String,
        pub auth_request_id: Option<String>,
        pub link_account_id: Option<String>,
        pub pending_json: String,
        pub callback_json: Option<String>,
        pub created_at: i64,
        pub expires_at: i64,
    }
    relation_free!();
}

pub mod login_failures {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "login_failures")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub key_hash: String,
        pub failures: i32,
        pub window_start: i64,
        pub lockouts: i32,
        pub locked_until: Option<i64>,
        pub updated_at: i64,
    }
    relation_free!();
}

pub mod email_outbox {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "email_outbox")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub kind: String,
        pub recipient: String,
        pub subject: String,
        pub text_body: Option<String>,
        pub html_body: Option<String>,
        pub state: String,
        pub attempts: i32,
        pub next_attempt_at: i64,
        pub lease_until: Option<i64>,
        pub last_error: Option<String>,
        pub created_at: i64,
        pub expires_at: i64,
        pub finished_at: Option<i64>,
    }
    relation_free!();
}

pub mod email_proofs {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "email_proofs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub purpose: String,
        pub account_id: String,
        pub email: String,
        pub code_hash: Option<String>,
        pub link_hash: String,
        pub attempts: i32,
        pub request_id: Option<String>,
        pub created_at: i64,
        pub expires_at: i64,
        pub used_at: Option<i64>,
    }
    relation_free!();
}

pub mod totp_factors {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "totp_factors")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub account_id: String,
        pub secret_sealed: String,
        pub confirmed_at: Option<i64>,
        pub last_used_step: Option<i64>,
        pub last_used_at: Option<i64>,
        pub created_at: i64,
    }
    relation_free!();
}

pub mod recovery_codes {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "recovery_codes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub code_hash: String,
        pub account_id: String,
        pub created_at: i64,
        pub used_at: Option<i64>,
    }
    relation_free!();
}

pub mod passkeys {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "passkeys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub account_id: String,
        pub credential_id: String,
        pub name: String,
        pub credential_json: String,
        pub sign_count: i64,
        pub backup_eligible: bool,
        pub backup_state: bool,
        pub created_at: i64,
        pub last_used_at: Option<i64>,
    }
    relation_free!();
}

pub mod used_challenges {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "used_challenges")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub challenge_hash: String,
        pub expires_at: i64,
    }
    relation_free!();
}

pub mod remembered_devices {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "remembered_devices")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub token_hash: String,
        pub account_id: String,
        pub created_at: i64,
        pub expires_at: i64,
    }
    relation_free!();
}

pub mod account_roles {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "account_roles")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub account_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub role: String,
        pub created_at: i64,
        /// The upstream that gave it (`roles_from_claim`); none for an administrator's.
        pub source: Option<String>,
    }
    relation_free!();
}

pub mod disabled_accounts {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "disabled_accounts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub account_id: String,
        pub disabled_at: i64,
    }
    relation_free!();
}

pub mod logout_outbox {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "logout_outbox")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub client_id: String,
        pub subject: String,
        pub sid: String,
        pub reason: String,
        pub attempts: i32,
        pub next_attempt_at: i64,
        pub lease_until: Option<i64>,
        pub last_error: Option<String>,
        pub created_at: i64,
        pub expires_at: i64,
    }
    relation_free!();
}

pub mod job_leases {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "job_leases")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        pub holder: String,
        pub until: i64,
    }
    relation_free!();
}
