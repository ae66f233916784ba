-- Prefill for bench/run.sh --prefill (SQLite): @N@ accounts with a live grant each, ten
-- refresh tokens per grant (nine rotated, one live), @N@ audit records, and a day of expired
-- rows for the garbage collector (@N@ each of requests, sessions, codes and access tokens).
-- Keys are random like real hashes, so the B-trees grow as they do in production.
PRAGMA synchronous = OFF;
PRAGMA cache_size = -262144;
BEGIN;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < @N@)
INSERT INTO accounts (id, email, email_verified, name, password_hash, created_at)
SELECT printf('prefill-%d', i), printf('user%d@prefill.example', i), 1, NULL,
       '$argon2id$v=19$m=19456,t=2,p=1$cHJlZmlsbHByZWZpbGw$2rYdqb9Z0fXhO0Cq8mJmQkq0b2qk3C2m0l9s8rK3x1I',
       @NOW@
FROM seq;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < @N@)
INSERT INTO grants (id, client_id, account_id, scope, auth_time, amr, idp, created_at, expires_at, revoked_at, revoked_reason)
SELECT printf('g-%d', i), 'bench-web', printf('prefill-%d', i), 'openid email', @NOW@, 'pwd', NULL,
       @NOW@, @NOW@ + 2592000, NULL, NULL
FROM seq;
WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < 10 * @N@ - 1)
INSERT INTO refresh_tokens (token_hash, grant_id, client_id, scope, created_at, expires_at, rotated_at)
SELECT lower(hex(randomblob(32))), printf('g-%d', i % @N@ + 1), 'bench-web', 'openid email',
       @NOW@, @NOW@ + 2592000, CASE WHEN i >= @N@ THEN @NOW@ ELSE NULL END
FROM seq;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < @N@)
INSERT INTO audit_events (at, kind, account_id, client_id, detail, email, ip, user_agent)
SELECT @NOW@ - i, 'login_succeeded', printf('prefill-%d', i), 'bench-web', '',
       printf('user%d@prefill.example', i), '203.0.113.7', 'Mozilla/5.0 (prefill)'
FROM seq;
-- A day of expired rows.
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < @N@)
INSERT INTO auth_requests (id, client_id, request_json, authenticated_session, created_at, expires_at, stage_json, revision)
SELECT lower(hex(randomblob(16))), 'bench-web', '{}', NULL, @NOW@ - 86400 + i % 86400, @NOW@ - 10, NULL, 0
FROM seq;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < @N@)
INSERT INTO browser_sessions (id_hash, account_id, auth_time, amr, idp, created_at, expires_at)
SELECT lower(hex(randomblob(32))), printf('prefill-%d', i), @NOW@ - 86400, 'pwd', NULL, @NOW@ - 86400, @NOW@ - 10
FROM seq;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < @N@)
INSERT INTO auth_codes (code_hash, grant_id, client_id, account_id, redirect_uri, scope, nonce, pkce_challenge, auth_time, created_at, expires_at, consumed_at)
SELECT lower(hex(randomblob(32))), printf('g-%d', i), 'bench-web', printf('prefill-%d', i),
       'http://127.0.0.1:4201/cb', 'openid email', 'n', NULL, @NOW@ - 86400, @NOW@ - 86400, @NOW@ - 7200, @NOW@ - 86400
FROM seq;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < @N@)
INSERT INTO access_tokens (jti, grant_id, client_id, expires_at, revoked_at)
SELECT lower(hex(randomblob(16))), printf('g-%d', i), 'bench-web', @NOW@ - 10, NULL
FROM seq;
COMMIT;
ANALYZE;
