use super::*;
use crate::config::UploadSettings;
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
