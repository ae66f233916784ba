//! The server survives its database going away: 503 temporarily_unavailable while PostgreSQL
//! cannot be reached, and normal answers again once it can. The outage is real at the network
//! level: the app reaches PostgreSQL through a TCP relay that the test cuts and restores.

use crate::helpers::*;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinSet;

/// A TCP relay to PostgreSQL on a fixed local port that can be cut (every connection dropped,
/// nothing listening) and restored.
struct Relay {
    port: u16,
    upstream: String,
    tasks: Arc<Mutex<JoinSet<()>>>,
}

impl Relay {
    async fn start(upstream: String) -> Self {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        let relay = Self {
            port,
            upstream,
            tasks: Arc::new(Mutex::new(JoinSet::new())),
        };
        relay.restore().await;
        relay
    }

    async fn restore(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        let upstream = self.upstream.clone();
        let tasks = self.tasks.clone();
        self.tasks.lock().await.spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                tasks.lock().await.spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
    }

    async fn cut(&self) {
        self.tasks.lock().await.abort_all();
        // Let the aborted tasks drop their sockets and the listener.
        tokio::task::yield_now().await;
    }
}

/// The readiness check's status (it needs the database; /healthz does not).
async fn health(app: &TestApp) -> u16 {
    app.http
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
#[ignore = "needs PostgreSQL: .ci/run runs it with TEST_DATABASE_URL set and --include-ignored"]
async fn the_server_answers_503_while_postgresql_is_unreachable_and_recovers_when_it_returns() {
    let base = std::env::var("TEST_DATABASE_URL")
        .map(|u| url::Url::parse(&u).unwrap())
        .expect("this test needs TEST_DATABASE_URL (PostgreSQL)");
    let target = format!(
        "{}:{}",
        base.host_str().unwrap(),
        base.port().unwrap_or(5432)
    );
    let relay = Relay::start(target).await;
    let port = relay.port;
    let app = spawn_app_with(|s| {
        let mut url = url::Url::parse(&s.database.url).unwrap();
        url.set_host(Some("127.0.0.1")).unwrap();
        url.set_port(Some(port)).unwrap();
        s.database.url = url.to_string();
    })
    .await;
    let bogus = [
        ("grant_type", "authorization_code"),
        ("code", "nope"),
        ("redirect_uri", REDIRECT),
    ];
    assert_eq!(health(&app).await, 200);

    // Act 1: cut the network path to PostgreSQL.
    relay.cut().await;

    // Assert 1: the endpoints that need the database say so, with the protocol's error.
    assert_eq!(health(&app).await, 503);
    let alive = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(alive.status(), 200, "the process itself is alive");
    let res = app.token(("webapp", Some(WEB_SECRET)), &bogus).await;
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");

    // Act 2: PostgreSQL is reachable again.
    relay.restore().await;

    // Assert 2: the pool reconnects on its own; no restart needed.
    let mut status = 0;
    for _ in 0..50 {
        status = health(&app).await;
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(status, 200, "the server did not recover");
    let res = app.token(("webapp", Some(WEB_SECRET)), &bogus).await;
    assert_eq!(res.status(), 400, "a normal answer again: invalid_grant");
    let p = AuthorizeParams::new("webapp", "openid");
    let code = app.code_for(&p).await;
    let res = app
        .exchange(("webapp", Some(WEB_SECRET)), &code, None)
        .await;
    assert_eq!(res.status(), 200);
}
