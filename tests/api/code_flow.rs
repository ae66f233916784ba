//! The full code + PKCE flow with the `openidconnect` crate as the relying party.

use crate::helpers::*;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, RefreshToken, Scope, TokenResponse,
};

#[tokio::test]
async fn a_relying_party_signs_a_user_in_with_code_and_pkce_and_an_api_verifies_the_tokens() {
    // Arrange
    let app = spawn_app().await;
    let http = openidconnect::reqwest::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let meta =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.address.clone()).unwrap(), &http)
            .await
            .unwrap();
    let client = CoreClient::from_provider_metadata(
        meta,
        ClientId::new("webapp".into()),
        Some(ClientSecret::new(WEB_SECRET.into())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();

    // Act: the person signs in and consents on the hosted pages.
    let back = app
        .interact(&app.browser, auth_url, EMAIL, PASSWORD, Consent::Allow)
        .await;
    assert_eq!(
        query(&back, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    assert_eq!(query(&back, "iss").as_deref(), Some(app.address.as_str()));
    let code = query(&back, "code").unwrap();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();

    // Assert: the RP verifies the ID token (signature from the JWKS, iss, aud, exp, nonce).
    let id_token = tokens.id_token().expect("an ID token");
    let verifier = client.id_token_verifier();
    let claims = id_token.claims(&verifier, &nonce).unwrap();
    assert_eq!(claims.subject().as_str(), app.account_id);
    assert_eq!(claims.email().map(|e| e.as_str()), Some(EMAIL));
    assert!(claims.auth_time().is_some());
    let expected_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected_hash));
    assert_eq!(claims.auth_method_refs().unwrap()[0].as_str(), "pwd");

    // An API verifies the access token on its own, from the JWKS (RFC 9068).
    let (at, header) = app.verify_jwt(tokens.access_token().secret()).await;
    assert_eq!(header.token_type(), Some("at+jwt"));
    assert_eq!(at["iss"], app.address.as_str());
    assert_eq!(at["sub"], app.account_id.as_str());
    assert_eq!(at["aud"], app.address.as_str());
    assert_eq!(at["client_id"], "webapp");
    assert_eq!(at["scope"], "email offline_access openid profile");
    assert!(at["jti"].is_string() && at["iat"].is_i64() && at["exp"].is_i64());

    // Userinfo answers by scope.
    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(info.email().map(|e| e.as_str()), Some(EMAIL));
    assert_eq!(info.subject().as_str(), app.account_id);

    // Refresh through the RP library: a new refresh token each time.
    let rt = tokens
        .refresh_token()
        .expect("offline_access gives a refresh token")
        .clone();
    let refreshed = client
        .exchange_refresh_token(&rt)
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    let new_rt = refreshed.refresh_token().expect("rotated").secret().clone();
    assert_ne!(&new_rt, rt.secret());
    let replay = client
        .exchange_refresh_token(&RefreshToken::new(rt.secret().clone()))
        .unwrap()
        .request_async(&http)
        .await;
    // Not any failure: the token endpoint's own invalid_grant.
    match replay {
        Err(openidconnect::RequestTokenError::ServerResponse(r)) => assert_eq!(
            *r.error(),
            openidconnect::core::CoreErrorResponseType::InvalidGrant,
            "a rotated refresh token must not work again"
        ),
        Err(other) => panic!("expected invalid_grant, got {other:?}"),
        Ok(_) => panic!("a rotated refresh token must not work again"),
    }
}
