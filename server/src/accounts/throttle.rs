//! Password sign-in throttling (ASVS 6.3.1, OWASP Authentication Cheat Sheet "Account
//! Lockout"): failures are counted per account — keyed by the normalised email, known or not —
//! never per IP. `threshold` failures within `window` lock the key for `lockout`, doubling with
//! each consecutive lockout up to `max_lockout`; a success clears it. While locked, every
//! attempt gets the same answer as a wrong password, and no hash is computed.
//!
//! Checks of one email are serialised within an instance (`Gate`), so each sees the failures
//! recorded by the one before: parallel guesses cannot run past the threshold, and a correct
//! sign-in costs one read.

use crate::config::LoginSettings;

pub use crate::store::FailureState;

#[derive(Debug, Clone, Copy)]
pub struct Throttle {
    pub threshold: i32,
    pub window: i64,
    pub lockout: i64,
    pub max_lockout: i64,
}

/// Per-email serialisation of password checks in this instance: striped locks (bounded
/// memory; two emails rarely share a stripe, and then only wait for each other).
pub struct Gate {
    stripes: Vec<tokio::sync::Mutex<()>>,
}

impl Default for Gate {
    fn default() -> Self {
        Self {
            stripes: (0..1024).map(|_| tokio::sync::Mutex::new(())).collect(),
        }
    }
}

impl Gate {
    pub async fn enter(&self, key: &str) -> tokio::sync::MutexGuard<'_, ()> {
        let h = key.bytes().fold(0usize, |h, b| {
            h.wrapping_mul(31).wrapping_add(usize::from(b))
        });
        self.stripes[h % self.stripes.len()].lock().await
    }
}

/// After this long without a failure, earlier lockouts no longer make the next one longer.
const FORGET_AFTER: i64 = crate::store::LOGIN_FAILURES_KEPT;

impl Throttle {
    pub fn from_settings(s: &LoginSettings) -> Self {
        Self {
            threshold: s.lockout_threshold,
            window: s.lockout_window_seconds,
            lockout: s.lockout_seconds,
            max_lockout: s.max_lockout_seconds,
        }
    }

    pub fn enabled(&self) -> bool {
        self.threshold > 0
    }

    pub fn is_locked(&self, state: &FailureState, now: i64) -> bool {
        self.enabled() && state.locked_until.is_some_and(|t| t > now)
    }

    /// The state after one more failure at `now`; `true` when this failure starts a lockout.
    pub fn after_failure(&self, state: &FailureState, now: i64) -> (FailureState, bool) {
        let mut s = *state;
        if now - s.window_start >= FORGET_AFTER {
            s.lockouts = 0;
        }
        // A lockout that ended, or a window that passed, starts a new count.
        if s.locked_until.is_some_and(|t| t <= now) || now - s.window_start >= self.window {
            s.failures = 0;
            s.window_start = now;
            s.locked_until = None;
        }
        s.failures += 1;
        let locks = self.enabled() && s.failures >= self.threshold;
        if locks {
            let factor = 1i64 << s.lockouts.clamp(0, 20);
            s.locked_until =
                Some(now + (self.lockout.saturating_mul(factor)).min(self.max_lockout));
            s.lockouts += 1;
            s.failures = 0;
            s.window_start = now;
        }
        (s, locks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Throttle = Throttle {
        threshold: 3,
        window: 900,
        lockout: 60,
        max_lockout: 3600,
    };

    fn fail(s: FailureState, now: i64, n: usize) -> (FailureState, bool) {
        let mut state = s;
        let mut locked = false;
        for _ in 0..n {
            (state, locked) = T.after_failure(&state, now);
        }
        (state, locked)
    }

    #[test]
    fn the_threshold_locks_and_consecutive_lockouts_double_up_to_the_cap() {
        let (s, locked) = fail(FailureState::default(), 1000, 3);
        assert!(locked && T.is_locked(&s, 1059) && !T.is_locked(&s, 1060));
        let (s, _) = fail(s, 1060, 3);
        assert_eq!(s.locked_until, Some(1060 + 120));
        let mut s = s;
        for _ in 0..10 {
            let now = s.locked_until.unwrap();
            s = fail(s, now, 3).0;
        }
        let now = s.window_start;
        assert_eq!(s.locked_until, Some(now + 3600));
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let (s, _) = fail(FailureState::default(), 0, 2);
        let (s, locked) = T.after_failure(&s, 901);
        assert!(!locked);
        assert_eq!(s.failures, 1);
    }

    #[test]
    fn at_most_a_hundred_failures_an_hour_with_the_defaults() {
        let t = Throttle::from_settings(&LoginSettings::default());
        let mut s = FailureState::default();
        let (mut now, mut attempts) = (0, 0);
        while now < 3600 {
            if t.is_locked(&s, now) {
                now = s.locked_until.unwrap_or(now);
                continue;
            }
            s = t.after_failure(&s, now).0;
            attempts += 1;
            now += 1;
        }
        assert!(attempts <= 100, "{attempts} attempts in an hour");
    }
}
