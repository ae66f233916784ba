-- Prefill for bench/run.sh --prefill (PostgreSQL): the same rows as sqlite.sql.
SET synchronous_commit = off;
INSERT INTO accounts (id, email, email_verified, name, password_hash, created_at)
SELECT 'prefill-' || i, 'user' || i || '@prefill.example', true, NULL,
       '$argon2id$v=19$m=19456,t=2,p=1$cHJlZmlsbHByZWZpbGw$2rYdqb9Z0fXhO0Cq8mJmQkq0b2qk3C2m0l9s8rK3x1I',
       @NOW@
FROM generate_series(1, @N@) AS i;
INSERT INTO grants (id, client_id, account_id, scope, auth_time, amr, idp, created_at, expires_at, revoked_at, revoked_reason)
SELECT 'g-' || i, 'bench-web', 'prefill-' || i, 'openid email', @NOW@, 'pwd', NULL,
       @NOW@, @NOW@ + 2592000, NULL, NULL
FROM generate_series(1, @N@) AS i;
INSERT INTO refresh_tokens (token_hash, grant_id, client_id, scope, created_at, expires_at, rotated_at)
SELECT md5(random()::text) || md5(random()::text), 'g-' || (i % @N@ + 1), 'bench-web', 'openid email',
       @NOW@, @NOW@ + 2592000, CASE WHEN i >= @N@ THEN @NOW@ ELSE NULL END
FROM generate_series(0, 10 * @N@ - 1) AS i;
INSERT INTO audit_events (at, kind, account_id, client_id, detail, email, ip, user_agent)
SELECT @NOW@ - i, 'login_succeeded', 'prefill-' || i, 'bench-web', '',
       'user' || i || '@prefill.example', '203.0.113.7', 'Mozilla/5.0 (prefill)'
FROM generate_series(1, @N@) AS i;
-- A day of expired rows.
INSERT INTO auth_requests (id, client_id, request_json, authenticated_session, created_at, expires_at, stage_json, revision)
SELECT md5(random()::text), 'bench-web', '{}', NULL, @NOW@ - 86400 + i % 86400, @NOW@ - 10, NULL, 0
FROM generate_series(1, @N@) AS i;
INSERT INTO browser_sessions (id_hash, account_id, auth_time, amr, idp, created_at, expires_at)
SELECT md5(random()::text) || md5(random()::text), 'prefill-' || i, @NOW@ - 86400, 'pwd', NULL, @NOW@ - 86400, @NOW@ - 10
FROM generate_series(1, @N@) AS i;
INSERT INTO auth_codes (code_hash, grant_id, client_id, account_id, redirect_uri, scope, nonce, pkce_challenge, auth_time, created_at, expires_at, consumed_at)
SELECT md5(random()::text) || md5(random()::text), 'g-' || i, 'bench-web', 'prefill-' || i,
       'http://127.0.0.1:4201/cb', 'openid email', 'n', NULL, @NOW@ - 86400, @NOW@ - 86400, @NOW@ - 7200, @NOW@ - 86400
FROM generate_series(1, @N@) AS i;
INSERT INTO access_tokens (jti, grant_id, client_id, expires_at, revoked_at)
SELECT md5(random()::text), 'g-' || i, 'bench-web', @NOW@ - 10, NULL
FROM generate_series(1, @N@) AS i;
VACUUM ANALYZE;
