-- The statements the sign-in, code exchange, refresh, revocation and collector make, with
-- literal values: bench/run.sh --prefill prints each one's plan on the prefilled database
-- (EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL). Each must use an index, and a lookup
-- by key its key's: the statistics the prefill leaves have seen only expired rows, so a
-- lookup's expiry check written `expires_at > now` would search the expiry index (kept for the
-- collector's DELETEs, the last statements) and read every live row; Ostiary writes it
-- `expires_at + 0 > now` (`store/live.rs`), as here.
EXPLAIN SELECT * FROM browser_sessions WHERE id_hash = 'x' AND expires_at + 0 > @NOW@;
EXPLAIN SELECT * FROM browser_sessions LEFT JOIN consents ON browser_sessions.account_id = consents.account_id AND consents.client_id = 'bench-web' WHERE browser_sessions.id_hash = 'x' AND browser_sessions.expires_at + 0 > @NOW@;
EXPLAIN SELECT * FROM consents WHERE account_id = 'prefill-1' AND client_id = 'bench-web';
EXPLAIN SELECT * FROM auth_requests WHERE id = 'x' AND expires_at + 0 > @NOW@;
EXPLAIN UPDATE auth_requests SET stage_json = '{}', revision = 2 WHERE id = 'x' AND revision = 1 AND expires_at + 0 > @NOW@;
EXPLAIN DELETE FROM auth_requests WHERE id = 'x' AND revision = 1 AND expires_at + 0 > @NOW@;
EXPLAIN SELECT accounts.id, accounts.email, accounts.email_verified, accounts.name, accounts.password_hash, accounts.created_at, (SELECT disabled_at FROM disabled_accounts WHERE disabled_accounts.account_id = accounts.id), login_failures.failures, login_failures.window_start, login_failures.lockouts, login_failures.locked_until FROM (SELECT 1) AS one_row LEFT JOIN accounts ON accounts.email = 'user1@prefill.example' LEFT JOIN login_failures ON login_failures.key_hash = 'x';
EXPLAIN SELECT email, email_verified, (SELECT disabled_at FROM disabled_accounts WHERE disabled_accounts.account_id = accounts.id), (SELECT scope FROM consents WHERE account_id = 'prefill-1' AND client_id = 'bench-web'), (SELECT confirmed_at FROM totp_factors WHERE account_id = 'prefill-1' AND confirmed_at IS NOT NULL), (SELECT last_used_at FROM totp_factors WHERE account_id = 'prefill-1' AND confirmed_at IS NOT NULL), (SELECT count(*) FROM recovery_codes WHERE account_id = 'prefill-1' AND used_at IS NULL), (SELECT count(*) FROM passkeys WHERE account_id = 'prefill-1') FROM accounts WHERE id = 'prefill-1';
EXPLAIN SELECT * FROM login_failures WHERE key_hash = 'x';
EXPLAIN SELECT * FROM auth_codes WHERE code_hash = 'x';
EXPLAIN SELECT * FROM auth_codes LEFT JOIN grants ON auth_codes.grant_id = grants.id LEFT JOIN accounts ON grants.account_id = accounts.id WHERE auth_codes.code_hash = 'x';
EXPLAIN UPDATE auth_codes SET consumed_at = 1 WHERE code_hash = 'x' AND consumed_at IS NULL AND expires_at + 0 > @NOW@;
EXPLAIN SELECT * FROM grants WHERE id = 'g-1';
EXPLAIN UPDATE grants SET revoked_at = 1 WHERE id = 'g-1' AND revoked_at IS NULL;
EXPLAIN SELECT * FROM refresh_tokens WHERE token_hash = 'x';
EXPLAIN UPDATE refresh_tokens SET rotated_at = 1 WHERE token_hash = 'x' AND rotated_at IS NULL;
EXPLAIN SELECT * FROM access_tokens WHERE jti = 'x';
EXPLAIN SELECT * FROM upstream_identities WHERE upstream_id = 'google' AND subject = 'x';
EXPLAIN SELECT * FROM upstream_identities WHERE account_id = 'prefill-1';
EXPLAIN SELECT * FROM audit_events WHERE kind = 'login_failed' ORDER BY at;
EXPLAIN DELETE FROM refresh_tokens WHERE token_hash IN (SELECT token_hash FROM refresh_tokens WHERE expires_at < @NOW@ LIMIT 500);
EXPLAIN DELETE FROM access_tokens WHERE jti IN (SELECT jti FROM access_tokens WHERE expires_at < @NOW@ LIMIT 500);
EXPLAIN DELETE FROM auth_codes WHERE code_hash IN (SELECT code_hash FROM auth_codes WHERE expires_at < @NOW@ LIMIT 500);
EXPLAIN DELETE FROM browser_sessions WHERE id_hash IN (SELECT id_hash FROM browser_sessions WHERE expires_at < @NOW@ LIMIT 500);
EXPLAIN DELETE FROM auth_requests WHERE id IN (SELECT id FROM auth_requests WHERE expires_at < @NOW@ LIMIT 500);
EXPLAIN DELETE FROM grants WHERE id IN (SELECT id FROM grants WHERE expires_at < @NOW@ LIMIT 500);
EXPLAIN DELETE FROM login_failures WHERE key_hash IN (SELECT key_hash FROM login_failures WHERE window_start < @NOW@ LIMIT 500);
