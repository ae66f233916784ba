//! The `ostiary` binary as a process, run as an init system runs it, and sent real signals:
//! SIGTERM under a load of token requests (every request the server took gets its whole
//! answer, and the process exits 0), SIGHUP reloading the config file (a good edit applied, a
//! bad one refused, logged with its key and counted), and `[log] format = "json"` (one JSON
//! object per line, a request's id on its lines, no secret anywhere).
//!
//! These tests live in the server package because only there does Cargo hand a test the path
//! of the binary it built (`CARGO_BIN_EXE_ostiary`); the black-box suite in `tests/` runs the
//! server in-process. With `TEST_DATABASE_URL` the process runs on a fresh PostgreSQL database.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod json_logs;
mod reload;
mod running;
mod shutdown;
