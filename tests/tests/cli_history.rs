//! `twake-upload history`: finished uploads stay listed after `clear` tidies the queue, can
//! be searched, exported as CSV, and forgotten with `--clear`.

use e2e_tests::cli_run::{text, Cli};
use e2e_tests::harness::{write_file, ReceiverServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_lists_uploads_after_clear_searches_exports_csv_and_clears() {
    let server = ReceiverServer::start().await;
    let src = tempfile::tempdir().unwrap();
    let report = write_file(src.path(), "report.pdf", 3000, 1);
    let photo = write_file(src.path(), "photo.jpg", 2000, 2);
    let cli = Cli::new();
    let up = cli
        .cmd()
        .args(["upload", "--to", &server.url()])
        .arg(&report)
        .arg(&photo)
        .output()
        .unwrap();
    assert!(up.status.success(), "{}", text(&up));
    let cleared = cli.cmd().arg("clear").output().unwrap();
    assert!(cleared.status.success(), "{}", text(&cleared));
    let status = cli.cmd().arg("status").output().unwrap();
    assert!(text(&status).contains("is empty"), "{}", text(&status));

    let json = cli.cmd().args(["history", "--json"]).output().unwrap();
    assert!(json.status.success(), "{}", text(&json));
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&json.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    for row in &rows {
        assert_eq!(row["result"], "done");
        assert_eq!(row["target"], server.url());
        assert!(row["link"].is_null());
    }
    let report_row = rows.iter().find(|r| r["name"] == "report.pdf").unwrap();
    assert_eq!(report_row["size"], 3000);

    let found = cli
        .cmd()
        .args(["history", "--search", "PHOTO"])
        .output()
        .unwrap();
    let found = text(&found);
    assert!(
        found.contains("photo.jpg") && !found.contains("report.pdf"),
        "{found}"
    );

    let csv_path = src.path().join("history.csv");
    let csv = cli
        .cmd()
        .args(["history", "--csv"])
        .arg(&csv_path)
        .output()
        .unwrap();
    assert!(csv.status.success(), "{}", text(&csv));
    let written = std::fs::read_to_string(&csv_path).unwrap();
    let lines: Vec<&str> = written.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 3, "{written}");
    assert!(lines[0].starts_with("finished_at,result,"), "{written}");
    assert!(
        lines[1..]
            .iter()
            .any(|l| l.contains(",done,,report.pdf,report.pdf,3000,")),
        "{written}"
    );

    let forget = cli.cmd().args(["history", "--clear"]).output().unwrap();
    assert!(
        text(&forget).contains("removed 2 line(s)"),
        "{}",
        text(&forget)
    );
    let empty = cli.cmd().arg("history").output().unwrap();
    assert!(text(&empty).contains("is empty"), "{}", text(&empty));
}
