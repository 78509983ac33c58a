//! Deciding when to tell the person something through a desktop notification: a file failed,
//! or everything that was running has finished. Pure logic over engine events, so the rules are
//! tested without a notification daemon; `bridge` shows what this returns, in the app's
//! language at that moment (`Notice::title`, `Notice::body`).

use crate::i18n::{fill, Lang};
use std::collections::HashMap;
use upload_engine::{Event, FileState, UploadId};

/// One desktop notification, as facts; its words come with a language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// One file failed, with the engine's reason.
    Failed { name: String, reason: String },
    /// Several files failed since the last notice.
    ManyFailed { count: usize },
    /// Nothing is busy any more: what finished, failed and is paused since the last one.
    Finished {
        done: u32,
        failed: u32,
        paused: usize,
    },
}

impl Notice {
    pub fn title(&self, lang: Lang) -> String {
        let t = lang.texts();
        match self {
            Notice::Failed { name, .. } => fill(t.notice_failed_title, &[("name", name.clone())]),
            Notice::ManyFailed { count } => fill(
                t.notice_many_failed_title,
                &[("n", lang.number(*count as u64))],
            ),
            Notice::Finished { .. } => t.notice_finished_title.into(),
        }
    }

    pub fn body(&self, lang: Lang) -> String {
        let t = lang.texts();
        match self {
            Notice::Failed { reason, .. } => {
                fill(t.notice_failed_body, &[("reason", reason.clone())])
            }
            Notice::ManyFailed { .. } => t.notice_many_failed_body.into(),
            Notice::Finished {
                done,
                failed,
                paused,
            } => {
                let mut body = lang.count(
                    u64::from(*done),
                    t.notice_uploaded_one,
                    t.notice_uploaded_other,
                );
                if *failed > 0 {
                    let n = lang.number(u64::from(*failed));
                    body.push_str(&fill(t.notice_also_failed, &[("n", n)]));
                }
                if *paused > 0 {
                    let n = lang.number(*paused as u64);
                    body.push_str(&fill(t.notice_also_paused, &[("n", n)]));
                }
                body.push('.');
                body
            }
        }
    }
}

/// Watches file states and gathers what deserves a notification.
#[derive(Debug, Default)]
pub struct NoticeRules {
    files: HashMap<UploadId, Tracked>,
    /// Files that finished or failed since the last "all finished" notice.
    done_since: u32,
    failed_since: u32,
    /// Failures not yet told, with the file name and reason.
    new_failures: Vec<(String, String)>,
}

#[derive(Debug)]
struct Tracked {
    name: String,
    state: FileState,
}

fn is_busy(state: &FileState) -> bool {
    matches!(
        state,
        FileState::Queued | FileState::Testing | FileState::Uploading
    )
}

impl NoticeRules {
    pub fn observe(&mut self, event: &Event) {
        match event {
            Event::Added { upload } => {
                self.files.insert(
                    upload.id,
                    Tracked {
                        name: upload.relative_path.clone(),
                        state: upload.state.clone(),
                    },
                );
            }
            Event::File { id, state } => {
                let Some(t) = self.files.get_mut(id) else {
                    return;
                };
                if t.state == *state {
                    return;
                }
                match state {
                    FileState::Done => self.done_since += 1,
                    FileState::Failed { reason, .. } => {
                        self.failed_since += 1;
                        self.new_failures.push((t.name.clone(), reason.clone()));
                    }
                    _ => {}
                }
                t.state = state.clone();
            }
            Event::Removed { id } => {
                self.files.remove(id);
            }
            _ => {}
        }
    }

    /// Notices due now. Failures are told at once (several as one notice, so a server that
    /// refuses 500 files does not bury the desktop); "finished" once nothing is busy.
    pub fn take(&mut self) -> Vec<Notice> {
        let mut out = Vec::new();
        match self.new_failures.len() {
            0 => {}
            1 => {
                let (name, reason) = self.new_failures.remove(0);
                out.push(Notice::Failed { name, reason });
            }
            count => {
                self.new_failures.clear();
                out.push(Notice::ManyFailed { count });
            }
        }
        let busy = self.files.values().any(|t| is_busy(&t.state));
        if !busy && self.done_since > 0 {
            let paused = self
                .files
                .values()
                .filter(|t| t.state == FileState::Paused)
                .count();
            out.push(Notice::Finished {
                done: self.done_since,
                failed: self.failed_since,
                paused,
            });
            self.done_since = 0;
            self.failed_since = 0;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use upload_engine::UploadSummary;

    fn added(id: u64, name: &str) -> Event {
        Event::Added {
            upload: UploadSummary {
                id: UploadId(id),
                path: format!("/tmp/{name}"),
                relative_path: name.into(),
                target: "t".into(),
                size: 10,
                chunk_size: 10,
                total_chunks: 1,
                state: FileState::Queued,
                acked_bytes: 0,
                bytes_per_sec: 0,
                eta_secs: None,
                share_links: false,
            },
        }
    }

    fn state(id: u64, state: FileState) -> Event {
        Event::File {
            id: UploadId(id),
            state,
        }
    }

    #[test]
    fn the_batch_notice_comes_once_when_the_last_busy_file_finishes() {
        let mut n = NoticeRules::default();
        n.observe(&added(1, "a.txt"));
        n.observe(&added(2, "b.txt"));
        n.observe(&state(1, FileState::Uploading));
        n.observe(&state(1, FileState::Done));
        assert!(n.take().is_empty(), "b.txt is still queued");
        n.observe(&state(2, FileState::Done));
        let got = n.take();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].title(Lang::En), "Uploads finished");
        assert_eq!(got[0].body(Lang::En), "2 files uploaded.");
        assert!(n.take().is_empty(), "told once");
    }

    #[test]
    fn one_failure_names_the_file_and_many_are_told_together() {
        let mut n = NoticeRules::default();
        for i in 1..=3 {
            n.observe(&added(i, &format!("f{i}")));
        }
        n.observe(&state(
            1,
            FileState::Failed {
                kind: upload_engine::FailureKind::Refused,
                reason: "server refused".into(),
                retryable: false,
            },
        ));
        let one = n.take();
        assert_eq!(one[0].title(Lang::En), "Upload failed: f1");
        assert!(one[0].body(Lang::En).contains("server refused"));
        for i in 2..=3 {
            n.observe(&state(
                i,
                FileState::Failed {
                    kind: upload_engine::FailureKind::ServerError,
                    reason: "x".into(),
                    retryable: true,
                },
            ));
        }
        let many = n.take();
        assert_eq!(many.len(), 1);
        assert_eq!(many[0].title(Lang::En), "2 uploads failed");
    }

    #[test]
    fn pausing_everything_after_some_finished_says_what_is_paused() {
        let mut n = NoticeRules::default();
        n.observe(&added(1, "a"));
        n.observe(&added(2, "b"));
        n.observe(&state(1, FileState::Done));
        n.observe(&state(2, FileState::Paused));
        let got = n.take();
        assert_eq!(got[0].body(Lang::En), "1 file uploaded, 1 paused.");
        assert_eq!(got[0].body(Lang::Fr), "1 fichier envoyé, 1 en pause.");
        assert_eq!(got[0].title(Lang::Fr), "Envois terminés");
    }

    #[test]
    fn french_notices_name_the_file_and_count_in_french() {
        let failed = Notice::Failed {
            name: "a.txt".into(),
            reason: "server refused".into(),
        };
        assert_eq!(failed.title(Lang::Fr), "Échec de l’envoi\u{a0}: a.txt");
        assert_eq!(
            failed.body(Lang::Fr),
            "server refused. Ouvrez Twake Uploader pour réessayer."
        );
        let finished = Notice::Finished {
            done: 1500,
            failed: 2,
            paused: 0,
        };
        assert_eq!(
            finished.body(Lang::Fr),
            "1\u{202f}500 fichiers envoyés, 2 en échec."
        );
        assert_eq!(
            Notice::ManyFailed { count: 3 }.title(Lang::Fr),
            "3 envois en échec"
        );
    }
}
