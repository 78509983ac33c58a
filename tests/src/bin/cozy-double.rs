//! `cozy-double`: the cozy-stack double as a process, for the desktop end-to-end test (which
//! is not Rust). Prints `listening on URL`, then answers each `tree` line on stdin with one
//! JSON line: every folder and file of the instance, the trash left out, as
//! `[{"path": "/a/b.txt", "dir": false, "sha256": "…"}]`, and each `put PATH TEXT` line (a
//! file another device uploaded) with `ok`. The authorize page's passphrase is
//! `$COZY_DOUBLE_PASSPHRASE` ("cozy passphrase" when unset). Ends with its stdin.

use e2e_tests::cozy_double::{CozyConfig, CozyDouble};
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::main]
async fn main() {
    let mut config = CozyConfig::default();
    if let Ok(passphrase) = std::env::var("COZY_DOUBLE_PASSPHRASE") {
        config.passphrase = passphrase;
    }
    let double = CozyDouble::start_with(config).await;
    println!("listening on {}", double.url());
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(rest) = line.trim().strip_prefix("put ") {
            let (path, text) = rest.split_once(' ').unwrap_or((rest, ""));
            double.put_file(path, text.as_bytes());
            println!("ok");
            continue;
        }
        if line.trim() != "tree" {
            eprintln!("cozy-double: unknown request {line:?} (only \"tree\" and \"put\")");
            continue;
        }
        let tree: Vec<serde_json::Value> = double
            .tree()
            .into_iter()
            .map(|(path, dir)| {
                let sha256 = if dir { None } else { double.sha256_of(&path) };
                serde_json::json!({ "path": path, "dir": dir, "sha256": sha256 })
            })
            .collect();
        println!("{}", serde_json::Value::Array(tree));
    }
}
