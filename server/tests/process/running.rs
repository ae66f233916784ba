//! One `ostiary serve` process on a fresh data folder and database, its config file, and its
//! log lines (stderr, read as they come).

use sea_orm::ConnectionTrait;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const SERVICE_ID: &str = "reports-service";
pub const SERVICE_SECRET: &str = "reports-secret-0123456789abcdef0123";

/// How long a process gets to say something before the test gives up on it.
const PATIENCE: Duration = Duration::from_secs(60);

pub struct Running {
    child: Mutex<Child>,
    lines: Arc<Mutex<Vec<String>>>,
    pub base: String,
    pub metrics: Option<String>,
    pub config: PathBuf,
    dir: PathBuf,
    database: String,
    drop_database: Option<(String, String)>,
}

/// A client for one test (keep-alive, as a load balancer's).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The config file: JSON logs, port 0 (the port is read from the log), the limits off (the
/// load comes from one address), `clients` appended as they are.
pub fn config(dir: &std::path::Path, database: &str, extra: &str) -> String {
    format!(
        r#"issuer = "http://127.0.0.1"
[server]
bind = "127.0.0.1:0"
workers = 2
data_dir = "{dir}"
shutdown_timeout_seconds = 20
[database]
url = "{database}"
[log]
format = "json"
filter = "info"
[limits]
token_per_minute = 0
[metrics]
bind = "127.0.0.1:0"
[[clients]]
client_id = "{SERVICE_ID}"
client_secret = "{SERVICE_SECRET}"
grant_types = ["client_credentials"]
scope = "api"
{extra}"#,
        dir = dir.display()
    )
}

impl Running {
    /// Start `ostiary serve` with `config(…, extra)` and wait until it listens.
    pub async fn start(extra: &str) -> Running {
        let dir =
            std::env::temp_dir().join(format!("ostiary-proc-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let (database, drop_database) = fresh_database(&dir).await;
        let config = dir.join("ostiary.toml");
        std::fs::write(&config, self::config(&dir, &database, extra)).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ostiary"))
            .arg("--config")
            .arg(&config)
            .arg("serve")
            .env_remove("RUST_LOG")
            .env_remove("OSTIARY_KEY_ENCRYPTION_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the ostiary binary starts");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let mut running = Running {
            child: Mutex::new(child),
            lines,
            base: String::new(),
            metrics: None,
            config,
            dir,
            database,
            drop_database,
        };
        let listening = running.wait_for_message("ostiary is listening").await;
        running.base = format!("http://127.0.0.1:{}", listening["port"]);
        let metrics = running
            .wait_for_message("metrics are served at /metrics")
            .await;
        running.metrics = Some(format!("http://127.0.0.1:{}/metrics", metrics["port"]));
        running
    }

    pub fn pid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(i32::try_from(self.child.lock().unwrap().id()).unwrap())
    }

    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        nix::sys::signal::kill(self.pid(), signal).expect("the process takes the signal");
    }

    /// Rewrite the config file with another `extra` part.
    pub fn rewrite_config(&self, extra: &str) {
        std::fs::write(&self.config, config(&self.dir, &self.database, extra)).unwrap();
    }

    /// Every line written so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// The JSON log records so far (lines that are not JSON are skipped here).
    pub fn records(&self) -> Vec<serde_json::Value> {
        self.lines()
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Records whose message is `message`, counted.
    pub fn count(&self, message: &str) -> usize {
        self.records()
            .iter()
            .filter(|r| r["message"] == message)
            .count()
    }

    /// Wait for the `n`th record that `matches` (at the process's own pace: no clock to turn).
    pub async fn wait_for(
        &self,
        what: &str,
        n: usize,
        matches: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let started = Instant::now();
        loop {
            let found: Vec<_> = self.records().into_iter().filter(|r| matches(r)).collect();
            if found.len() >= n {
                return found[n - 1].clone();
            }
            assert!(
                started.elapsed() < PATIENCE,
                "no {what} from the process; it wrote:\n{}",
                self.lines().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Wait for the `n`th record whose message is `message`.
    pub async fn wait_for_nth(&self, message: &str, n: usize) -> serde_json::Value {
        self.wait_for(message, n, |r| r["message"] == message).await
    }

    pub async fn wait_for_message(&self, message: &str) -> serde_json::Value {
        self.wait_for_nth(message, 1).await
    }

    /// Wait for the process to end; its exit status.
    pub async fn wait_for_exit(&self) -> ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.lock().unwrap().try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "the process did not stop; it wrote:\n{}",
                self.lines().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A client_credentials token request as `client:secret`.
    pub async fn token(
        &self,
        http: &reqwest::Client,
        client: &str,
        secret: &str,
    ) -> reqwest::Result<reqwest::Response> {
        http.post(format!("{}/token", self.base))
            .basic_auth(client, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(child) = self.child.get_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some((base, name)) = self.drop_database.take() {
            drop_database(base, name);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A SQLite file in `dir`, or with `TEST_DATABASE_URL` a new PostgreSQL database.
async fn fresh_database(dir: &std::path::Path) -> (String, Option<(String, String)>) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            let name = format!("ostiary_proc_{}", uuid::Uuid::new_v4().simple());
            let admin = sea_orm::Database::connect(&base).await.unwrap();
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .unwrap();
            let mut url = url::Url::parse(&base).unwrap();
            url.set_path(&format!("/{name}"));
            (url.to_string(), Some((base, name)))
        }
        _ => (
            format!("sqlite://{}/ostiary.db?mode=rwc", dir.display()),
            None,
        ),
    }
}

fn drop_database(base: String, name: String) {
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        rt.block_on(async {
            let admin = sea_orm::Database::connect(&base).await.ok()?;
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await
                .ok()
        })
    })
    .join();
}
