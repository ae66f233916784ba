//! Remembered consent: the scopes a user granted a client.

use sea_orm::{ActiveValue::Set, EntityTrait, sea_query::OnConflict};

use super::entities::consents;
use super::{Store, StoreResult};
use crate::protocol::ids::AccountId;

impl Store {
    /// The space-separated scopes this account granted this client, if any.
    pub async fn consent(
        &self,
        account_id: &AccountId,
        client_id: &str,
    ) -> StoreResult<Option<String>> {
        Ok(self
            .first(consents::Entity::find_by_id((
                account_id.to_string(),
                client_id.to_owned(),
            )))
            .await?
            .map(|m| m.scope))
    }

    pub async fn save_consent(
        &self,
        account_id: &AccountId,
        client_id: &str,
        scope: &str,
        now: i64,
    ) -> StoreResult<()> {
        let am = consents::ActiveModel {
            account_id: Set(account_id.to_string()),
            client_id: Set(client_id.to_owned()),
            scope: Set(scope.to_owned()),
            updated_at: Set(now),
        };
        let upsert = consents::Entity::insert(am).on_conflict(
            OnConflict::columns([consents::Column::AccountId, consents::Column::ClientId])
                .update_columns([consents::Column::Scope, consents::Column::UpdatedAt])
                .to_owned(),
        );
        self.write.insert(upsert).await
    }
}
