use super::*;
use crate::config::UploadSettings;
use crate::events::FailureKind;
use crate::protocol::{ChunkRule, Dialect};
use crate::targets::TargetSpec;
use rusqlite::params;
use std::time::{Duration, SystemTime};

fn sample(name: &str) -> NewUpload {
    NewUpload {
        path: format!("/tmp/{name}").into(),
        relative_path: format!("dir/{name}"),
        mime_type: "application/octet-stream".into(),
        size: 12345,
        mtime: SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 5),
        quick_hash: "abc".into(),
        identifier: format!("12345-{name}"),
        chunk_size: 1024,
        chunk_rule: ChunkRule::Floor,
        target: TargetSpec::Resumable {
            url: "http://127.0.0.1:1/upload".into(),
            dialect: Dialect::Flow,
        },
        settings: UploadSettings::default(),
    }
}

fn quiet() -> Box<dyn Fn(String) + Send> {
    Box::new(|_| {})
}

#[tokio::test]
async fn uploads_chunks_and_states_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.sqlite3");
    {
        let store = Store::open(&path, quiet()).unwrap().store;
        let ids = store.insert(vec![sample("a"), sample("b")]).await.unwrap();
        assert_eq!(ids.len(), 2);
        store.chunk_done(ids[0], 3);
        store.chunk_done(ids[0], 1);
        store.chunk_done(ids[0], 3);
        store.set_state(ids[1], &FileState::Paused);
        store.set_remote_id(ids[0], Some("file-9".into()));
        store.set_setting("limit", "42");
        store.flush().await.unwrap();
    }
    // The writer thread releases the lock when the last handle is gone.
    let mut reopened = None;
    for _ in 0..50 {
        match Store::open(&path, quiet()) {
            Ok(o) => {
                reopened = Some(o.store);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    let store = reopened.expect("reopen after the first owner closed");
    let all = store.load_all().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].done_chunks, [1, 3]);
    assert_eq!(all[0].remote_id.as_deref(), Some("file-9"));
    assert_eq!(all[0].new.mtime, sample("a").mtime);
    assert_eq!(all[1].state, FileState::Paused);
    assert_eq!(all[1].new.target, sample("b").target);
    assert_eq!(store.setting("limit").await.unwrap().as_deref(), Some("42"));
}

#[tokio::test]
async fn a_replan_forgets_acknowledged_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("q.db"), quiet())
        .unwrap()
        .store;
    let id = store.insert(vec![sample("a")]).await.unwrap()[0];
    store.chunk_done(id, 1);
    store.replan(
        id,
        Replan {
            size: 99,
            mtime: SystemTime::UNIX_EPOCH,
            quick_hash: "new".into(),
            identifier: "99-new".into(),
            generation: 1,
            chunk_size: 512,
        },
    );
    let all = store.load_all().await.unwrap();
    assert!(all[0].done_chunks.is_empty());
    assert_eq!(all[0].new.identifier, "99-new");
    assert_eq!(all[0].generation, 1);
    assert_eq!(all[0].new.chunk_size, 512);
}

#[test]
fn a_second_owner_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    let _first = Store::open(&path, quiet()).unwrap();
    let err = Store::open(&path, quiet())
        .err()
        .expect("second open refused");
    let text = err.to_string();
    assert!(
        text.contains("in use by another Twake Uploader process"),
        "{text}"
    );
    assert!(
        text.contains(&format!("pid {}", std::process::id())),
        "{text}"
    );
}

#[test]
fn an_empty_database_is_migrated_to_the_current_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    drop(Store::open(&path, quiet()).unwrap());
    let conn = Connection::open(&path).unwrap();
    assert_eq!(schema::version(&conn).unwrap(), schema::CURRENT_VERSION);
}

#[tokio::test]
async fn a_version_1_database_is_migrated_and_keeps_its_uploads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    {
        let mut conn = Connection::open(&path).unwrap();
        schema::migrate_to(&mut conn, 1).unwrap();
        conn.execute(
            "INSERT INTO uploads (path, relative_path, mime_type, size, mtime_ns, identifier,
               generation, chunk_size, chunk_rule, target, settings, state, created_at)
             VALUES ('/x', 'x', '', 10, '0', '10-x', 0, 4, 'floor',
               '{\"kind\":\"resumable\",\"url\":\"http://h/u\",\"dialect\":\"resumable\"}',
               ?1, '{\"state\":\"queued\"}', 0)",
            [serde_json::to_string(&UploadSettings::default()).unwrap()],
        )
        .unwrap();
        conn.execute("INSERT INTO chunks_done VALUES (1, 2)", [])
            .unwrap();
    }
    let store = Store::open(&path, quiet()).unwrap().store;
    let all = store.load_all().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].new.identifier, "10-x");
    assert_eq!(all[0].done_chunks, [2]);
    assert_eq!(all[0].remote_id, None);
    assert_eq!(all[0].new.quick_hash, "");
}

#[test]
fn a_database_from_a_newer_version_is_refused_not_touched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    let err = Store::open(&path, quiet()).err().expect("refused");
    assert!(err.to_string().contains("newer than this program"), "{err}");
    assert!(path.exists());
}

#[tokio::test]
async fn a_corrupt_database_is_moved_aside_and_a_new_queue_started() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    std::fs::write(
        &path,
        b"this is not a database, just some bytes".repeat(200),
    )
    .unwrap();
    let opened = Store::open(&path, quiet()).unwrap();
    let aside = opened.moved_aside.clone().expect("moved aside");
    assert!(aside.to_string_lossy().contains(".corrupt-"));
    assert!(std::fs::read(&aside)
        .unwrap()
        .starts_with(b"this is not a database"));
    assert!(opened.store.load_all().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_damaged_page_inside_the_queue_is_found_on_open_and_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    {
        let store = Store::open(&path, quiet()).unwrap().store;
        let many: Vec<NewUpload> = (0..2000).map(|i| sample(&format!("f{i}"))).collect();
        store.insert(many).await.unwrap();
        store.close().await;
    }
    // Garbage over a page in the middle; the header (first page) stays intact.
    let len = std::fs::metadata(&path).unwrap().len();
    assert!(len > 40_000, "the queue spans many pages ({len} bytes)");
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.seek(SeekFrom::Start((len / 4096 / 2) * 4096)).unwrap();
        f.write_all(&[0xA5; 4096]).unwrap();
    }
    let opened = Store::open(&path, quiet()).unwrap();
    let aside = opened.moved_aside.clone().expect("moved aside");
    assert!(aside.exists());
    assert!(opened.store.load_all().await.unwrap().is_empty());
    opened.store.insert(vec![sample("fresh")]).await.unwrap();
    assert_eq!(opened.store.load_all().await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_queue_can_be_read_while_another_process_owns_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    let store = Store::open(&path, quiet()).unwrap().store;
    store.insert(vec![sample("a")]).await.unwrap();
    let read = read_queue(&path).unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].new.relative_path, "dir/a");
}

#[tokio::test]
async fn a_version_3_database_gets_the_order_its_uploads_were_added_in() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    {
        let mut conn = Connection::open(&path).unwrap();
        schema::migrate_to(&mut conn, 3).unwrap();
        for name in ["a", "b", "c"] {
            conn.execute(
                "INSERT INTO uploads (path, relative_path, mime_type, size, mtime_ns, identifier,
                   generation, chunk_size, chunk_rule, target, settings, state, created_at)
                 VALUES ('/x', ?1, '', 10, '0', ?1, 0, 4, 'floor',
                   '{\"kind\":\"resumable\",\"url\":\"http://h/u\",\"dialect\":\"resumable\"}',
                   ?2, '{\"state\":\"queued\"}', 0)",
                params![
                    name,
                    serde_json::to_string(&UploadSettings::default()).unwrap()
                ],
            )
            .unwrap();
        }
    }
    let store = Store::open(&path, quiet()).unwrap().store;
    let all = store.load_all().await.unwrap();
    let names: Vec<&str> = all.iter().map(|u| u.new.relative_path.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    assert!(all.windows(2).all(|w| w[0].position < w[1].position));
    // A new upload joins the end of the line.
    store.insert(vec![sample("d")]).await.unwrap();
    let all = store.load_all().await.unwrap();
    assert_eq!(all[3].new.relative_path, "dir/d");
    assert!(all[3].position > all[2].position);
}

#[tokio::test]
async fn saved_positions_decide_the_order_uploads_load_in() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("q.db"), quiet())
        .unwrap()
        .store;
    let ids = store
        .insert(vec![sample("a"), sample("b"), sample("c")])
        .await
        .unwrap();
    store.set_positions(vec![(ids[2], -5), (ids[0], 1 << 40)]);
    let order: Vec<UploadId> = store
        .load_all()
        .await
        .unwrap()
        .iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(order, [ids[2], ids[1], ids[0]]);
    assert_eq!(
        read_queue(store.path()).unwrap()[0].id,
        ids[2],
        "readers see the order too"
    );
}

fn failed(kind: FailureKind) -> FileState {
    FileState::Failed {
        kind,
        reason: "the server at http://127.0.0.1:1 refused it".into(),
        retryable: false,
    }
}

async fn reopen(path: &std::path::Path) -> Store {
    for _ in 0..50 {
        if let Ok(o) = Store::open(path, quiet()) {
            return o.store;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("reopen after the first owner closed");
}

#[tokio::test]
async fn the_history_keeps_finished_uploads_after_clear_finished_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.sqlite3");
    {
        let store = Store::open(&path, quiet()).unwrap().store;
        let ids = store
            .insert(vec![sample("a.txt"), sample("b.txt"), sample("c.txt")])
            .await
            .unwrap();
        store.finish(ids[0], &FileState::Done, "http://127.0.0.1:1/upload");
        store.finish(
            ids[1],
            &failed(FailureKind::Quota),
            "http://127.0.0.1:1/upload",
        );
        // Not final: no history line.
        store.set_state(ids[2], &FileState::Paused);
        store.set_history_link(ids[0], "https://drive.example/s/abc");
        assert_eq!(store.delete_finished().await.unwrap(), 1);
        store.close().await;
    }
    let store = reopen(&path).await;
    let page = store.history(HistoryQuery::all("")).await.unwrap();
    assert_eq!(page.total, 2);
    let names: Vec<_> = page.entries.iter().map(|e| e.name.as_str()).collect();
    assert!(
        names.contains(&"a.txt") && names.contains(&"b.txt"),
        "{names:?}"
    );
    let a = page.entries.iter().find(|e| e.name == "a.txt").unwrap();
    assert_eq!(a.relative_path, "dir/a.txt");
    assert_eq!(a.size, 12345);
    assert_eq!(a.result, HistoryResult::Done);
    assert_eq!(a.link.as_deref(), Some("https://drive.example/s/abc"));
    let b = page.entries.iter().find(|e| e.name == "b.txt").unwrap();
    assert_eq!(
        b.result,
        HistoryResult::Failed {
            kind: FailureKind::Quota
        }
    );
    assert!(b.reason.as_deref().unwrap().contains("refused"));
    // The queue itself lost the done one only.
    assert_eq!(store.load_all().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_retried_upload_keeps_one_history_line_with_its_latest_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("q.db"), quiet())
        .unwrap()
        .store;
    let id = store.insert(vec![sample("a")]).await.unwrap()[0];
    store.finish(id, &failed(FailureKind::Unreachable), "t");
    store.set_state(id, &FileState::Queued);
    store.finish(id, &FileState::Done, "t");
    let page = store.history(HistoryQuery::all("")).await.unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.entries[0].result, HistoryResult::Done);
    assert_eq!(page.entries[0].reason, None);
}

#[tokio::test]
async fn the_history_is_searched_as_plain_text_and_paged() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("q.db"), quiet())
        .unwrap()
        .store;
    let names = [
        "Report_2026.pdf",
        "report-old.pdf",
        "photo.jpg",
        "100%.txt",
        "100x.txt",
    ];
    let ids = store
        .insert(names.iter().map(|n| sample(n)).collect())
        .await
        .unwrap();
    for id in &ids {
        store.finish(*id, &FileState::Done, "twake:me@example.com:/Work");
    }
    let found = |search: &str| {
        let store = store.clone();
        let search = search.to_string();
        async move {
            let page = store.history(HistoryQuery::all(&search)).await.unwrap();
            let mut names: Vec<String> = page.entries.into_iter().map(|e| e.name).collect();
            names.sort();
            names
        }
    };
    assert_eq!(found("REPORT").await, ["Report_2026.pdf", "report-old.pdf"]);
    // `%` and `_` are letters in a search, not wildcards.
    assert_eq!(found("100%").await, ["100%.txt"]);
    assert_eq!(found("t_2").await, ["Report_2026.pdf"]);
    // The target's label is searched too.
    assert_eq!(found("me@example").await.len(), 5);
    assert!(found("nothing like it").await.is_empty());
    let page = store
        .history(HistoryQuery {
            search: String::new(),
            limit: 2,
            offset: 4,
        })
        .await
        .unwrap();
    assert_eq!((page.total, page.entries.len()), (5, 1));
    assert_eq!(store.clear_history().await.unwrap(), 5);
    assert_eq!(store.history(HistoryQuery::all("")).await.unwrap().total, 0);
}

#[tokio::test]
async fn the_history_reads_beside_the_owner_and_exports_as_csv() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    let store = Store::open(&path, quiet()).unwrap().store;
    let ids = store
        .insert(vec![sample("a,\"b\".txt"), sample("=cmd.txt")])
        .await
        .unwrap();
    store.finish(ids[0], &FileState::Done, "http://127.0.0.1:1/upload");
    store.finish(ids[1], &failed(FailureKind::SignedOut), "t");
    store.flush().await.unwrap();
    let page = read_history(&path, &HistoryQuery::all("")).unwrap();
    assert_eq!(page.total, 2);
    let mut csv = Vec::new();
    history::write_csv(&mut csv, &page.entries).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert!(lines[0].starts_with("finished_at,result,failure_kind,name"));
    assert!(
        csv.contains(r#","a,""b"".txt","dir/a,""b"".txt",12345,"#),
        "{csv}"
    );
    // A cell a spreadsheet would run as a formula is written as text.
    assert!(csv.contains(",failed,signed_out,'=cmd.txt,"), "{csv}");
}

#[test]
fn times_are_written_in_iso_utc() {
    assert_eq!(history::iso_utc(0), "1970-01-01T00:00:00Z");
    assert_eq!(history::iso_utc(1_796_303_895), "2026-12-03T13:18:15Z");
    assert_eq!(history::iso_utc(951_782_400), "2000-02-29T00:00:00Z");
}
