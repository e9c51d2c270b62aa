//! `switchboard demo` as a newcomer runs it: after the journeys it says
//! where the status page, the employee portal and the API are, with a
//! token for this run, and each of them answers as it says.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::bin::switchboard;
use common::repo;

/// The demo's own lines until the front door's, then the URLs and token.
/// The rest of its output is read on, so that it writes to an open pipe.
fn wait_for_front_door(out: impl BufRead + Send + 'static) -> (String, String, String) {
    let (mut token, mut status, mut portal) = (None, None, None);
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut lines = out.lines();
    for line in lines.by_ref() {
        let line = line.expect("stdout is text");
        assert!(Instant::now() < deadline, "the demo took too long");
        let word_after = |marker: &str| {
            line.split_once(marker)
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .map(str::to_string)
        };
        if let Some(t) = word_after("this run's token: ") {
            token = Some(t);
        } else if let Some(u) = word_after("status page ") {
            status = Some(u);
        } else if let Some(u) = word_after("employee portal ") {
            portal = Some(u);
        }
        if let (Some(t), Some(s), Some(p)) = (&token, &status, &portal) {
            std::thread::spawn(move || lines.for_each(drop));
            return (t.clone(), s.clone(), p.clone());
        }
    }
    panic!("the demo ended without printing the front door's URLs and token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_ends_with_the_front_doors_urls_and_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("demo.db").display());
    let mut child = switchboard(&repo(), &["demo", "--incidents", "60", "--store", &store])
        .env("SWITCHBOARD__HTTP__LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let out = BufReader::new(child.stdout.take().unwrap());
    let (token, status, portal) = tokio::task::spawn_blocking(move || wait_for_front_door(out))
        .await
        .unwrap();
    let base = status.trim_end_matches('/').to_string();
    assert_eq!(portal, format!("{base}/portal"));

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // The pages ask a stranger to sign in, and the sign-in page is there.
    for page in [&status, &portal] {
        let resp = client.get(page.as_str()).send().await.unwrap();
        assert_eq!(resp.status(), 303, "{page}");
        let to = resp.headers()["location"].to_str().unwrap().to_string();
        assert!(to.starts_with("/signin"), "{page} -> {to}");
    }
    let signin = client.get(format!("{base}/signin")).send().await.unwrap();
    assert_eq!(signin.status(), 200);
    assert!(signin.text().await.unwrap().contains("<form"));
    // The token is good for the API, every scope the demo has.
    let services = client
        .get(format!("{base}/api/v1/services"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(services.status(), 200);
    let items = client
        .get(format!("{base}/api/v1/work-items?limit=1"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(items.status(), 200);
    let _ = child.kill();
    let _ = child.wait();
}
