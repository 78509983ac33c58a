//! Deciding when to tell the person something through a desktop notification, without
//! flooding the desktop: one summary per burst ("12 files uploaded, 3 failed — open the
//! Failed tab"), failures gathered for a few seconds and told together, never more than
//! `MAX_PER_WINDOW` notices a minute (what is held back is folded into the next one), and a
//! signed-out account always told at once, once per sign-out. Pure logic over engine events
//! and tokio's clock (`now` is passed in), so the rules are tested on a paused clock without
//! a notification daemon; `bridge` shows what this returns, in the app's language at that
//! moment (`Notice::title`, `Notice::body`).

use crate::i18n::{fill, Lang};
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;
use tokio::time::Instant;
use upload_engine::{Event, FailureKind, FileState, UploadId};

/// How long a failure waits for the others of its burst before it is told.
pub const GATHER: Duration = Duration::from_secs(5);
/// At most this many notices in any `WINDOW` (a signed-out account excepted).
pub const MAX_PER_WINDOW: usize = 3;
pub const WINDOW: Duration = Duration::from_secs(60);

/// One desktop notification, as facts; its words come with a language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// One file failed, with the engine's reason.
    Failed { name: String, reason: String },
    /// Several files failed in one burst.
    ManyFailed { count: usize },
    /// Nothing is busy any more: what finished, failed and is paused since the last one.
    Finished {
        done: u32,
        failed: u32,
        paused: usize,
    },
    /// An account's session ended: its uploads wait for a new sign-in.
    SignedOut { account: String },
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
            Notice::SignedOut { account } => {
                fill(t.notice_signed_out_title, &[("account", account.clone())])
            }
        }
    }

    pub fn body(&self, lang: Lang) -> String {
        let t = lang.texts();
        match self {
            Notice::Failed { reason, .. } => {
                fill(t.notice_failed_body, &[("reason", reason.clone())])
            }
            Notice::ManyFailed { .. } => t.notice_many_failed_body.into(),
            Notice::SignedOut { .. } => t.notice_signed_out_body.into(),
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
                if *paused > 0 {
                    let n = lang.number(*paused as u64);
                    body.push_str(&fill(t.notice_also_paused, &[("n", n)]));
                }
                if *failed > 0 {
                    let n = lang.number(u64::from(*failed));
                    body.push_str(&fill(t.notice_also_failed, &[("n", n)]));
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
    /// Failures not yet told, with the file name and reason, and when the first came.
    new_failures: Vec<(String, String)>,
    first_untold: Option<Instant>,
    /// Accounts whose sign-out was told (again once one of their uploads restarts).
    signed_out_told: HashSet<String>,
    signed_out_due: Vec<String>,
    /// When the last notices (signed-out ones excepted) were told, oldest first.
    told: VecDeque<Instant>,
}

#[derive(Debug)]
struct Tracked {
    name: String,
    /// The account (or target) the file goes to, for the sign-out notice.
    account: String,
    state: FileState,
}

fn is_busy(state: &FileState) -> bool {
    matches!(
        state,
        FileState::Queued | FileState::Testing | FileState::Uploading
    )
}

/// The account in a Twake Drive target label (`twake:ACCOUNT:/folder`), else the label.
fn account_of(target: &str) -> String {
    target
        .strip_prefix("twake:")
        .and_then(|rest| rest.split_once(":/"))
        .map_or(target, |(account, _)| account)
        .to_string()
}

impl NoticeRules {
    pub fn observe(&mut self, event: &Event, now: Instant) {
        match event {
            Event::Added { upload } => {
                self.files.insert(
                    upload.id,
                    Tracked {
                        name: upload.relative_path.clone(),
                        account: account_of(&upload.target),
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
                    FileState::Failed {
                        kind: FailureKind::SignedOut,
                        ..
                    } => {
                        self.failed_since += 1;
                        if self.signed_out_told.insert(t.account.clone()) {
                            self.signed_out_due.push(t.account.clone());
                        }
                    }
                    FileState::Failed { reason, .. } => {
                        self.failed_since += 1;
                        self.new_failures.push((t.name.clone(), reason.clone()));
                        self.first_untold.get_or_insert(now);
                    }
                    // Restarted after a new sign-in: a later sign-out is news again.
                    _ if is_busy(state) => {
                        self.signed_out_told.remove(&t.account);
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

    fn busy(&self) -> bool {
        self.files.values().any(|t| is_busy(&t.state))
    }

    /// When the next notice may be told, if one waits: a sign-out at once; a summary as soon
    /// as nothing is busy; failures `GATHER` after the first of their burst; either no sooner
    /// than the rate limit allows.
    pub fn next_due(&self, now: Instant) -> Option<Instant> {
        if !self.signed_out_due.is_empty() {
            return Some(now);
        }
        let ready = if !self.busy() && (self.done_since > 0 || !self.new_failures.is_empty()) {
            now
        } else {
            self.first_untold? + GATHER
        };
        let allowed = match self.told.len() {
            n if n >= MAX_PER_WINDOW => self.told[n - MAX_PER_WINDOW] + WINDOW,
            _ => ready,
        };
        Some(ready.max(allowed))
    }

    /// Notices due at `now`.
    pub fn take(&mut self, now: Instant) -> Vec<Notice> {
        let mut out: Vec<Notice> = self
            .signed_out_due
            .drain(..)
            .map(|account| Notice::SignedOut { account })
            .collect();
        let Some(due) = self.next_due(now) else {
            return out;
        };
        if due > now {
            return out;
        }
        while self.told.front().is_some_and(|t| *t + WINDOW <= now) {
            self.told.pop_front();
        }
        let failures = std::mem::take(&mut self.new_failures);
        self.first_untold = None;
        if !self.busy() && self.done_since > 0 {
            // The burst is over: one summary, the failures not yet told folded into it.
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
        } else {
            if !self.busy() {
                self.failed_since = 0;
            }
            let mut failures = failures;
            out.push(match failures.len() {
                1 => {
                    let (name, reason) = failures.remove(0);
                    Notice::Failed { name, reason }
                }
                count => Notice::ManyFailed { count },
            });
        }
        self.told.push_back(now);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use upload_engine::UploadSummary;

    fn added_to(id: u64, name: &str, target: &str) -> Event {
        Event::Added {
            upload: UploadSummary {
                id: UploadId(id),
                path: format!("/tmp/{name}"),
                relative_path: name.into(),
                target: target.into(),
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

    fn added(id: u64, name: &str) -> Event {
        added_to(id, name, "http://127.0.0.1:1/upload")
    }

    fn state(id: u64, state: FileState) -> Event {
        Event::File {
            id: UploadId(id),
            state,
        }
    }

    fn failed(kind: FailureKind, reason: &str) -> FileState {
        FileState::Failed {
            kind,
            reason: reason.into(),
            retryable: false,
        }
    }

    /// A fresh set of rules and the time the test starts (tokio's paused clock).
    fn rules() -> (NoticeRules, Instant) {
        (NoticeRules::default(), Instant::now())
    }

    #[tokio::test(start_paused = true)]
    async fn the_batch_notice_comes_once_when_the_last_busy_file_finishes() {
        let (mut n, t) = rules();
        n.observe(&added(1, "a.txt"), t);
        n.observe(&added(2, "b.txt"), t);
        n.observe(&state(1, FileState::Uploading), t);
        n.observe(&state(1, FileState::Done), t);
        assert!(n.take(t).is_empty(), "b.txt is still queued");
        assert_eq!(n.next_due(t), None, "nothing waits to be told");
        n.observe(&state(2, FileState::Done), t);
        let got = n.take(t);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].title(Lang::En), "Uploads finished");
        assert_eq!(got[0].body(Lang::En), "2 files uploaded.");
        assert!(n.take(t).is_empty(), "told once");
    }

    #[tokio::test(start_paused = true)]
    async fn failures_of_one_burst_are_gathered_into_one_notice() {
        let (mut n, t) = rules();
        for i in 1..=4 {
            n.observe(&added(i, &format!("f{i}")), t);
        }
        n.observe(&state(1, failed(FailureKind::Refused, "server refused")), t);
        assert!(n.take(t).is_empty(), "the others of the burst may follow");
        assert_eq!(n.next_due(t), Some(t + GATHER));
        n.observe(
            &state(2, failed(FailureKind::ServerError, "x")),
            t + GATHER / 2,
        );
        n.observe(&state(3, failed(FailureKind::Quota, "y")), t + GATHER / 2);
        let many = n.take(t + GATHER);
        assert_eq!(many, [Notice::ManyFailed { count: 3 }]);
        assert_eq!(many[0].title(Lang::En), "3 uploads failed");
        // One failure alone names its file.
        n.observe(
            &state(4, failed(FailureKind::Refused, "server refused")),
            t + GATHER,
        );
        let one = n.take(t + GATHER * 2);
        assert_eq!(one[0].title(Lang::En), "Upload failed: f4");
        assert!(one[0].body(Lang::En).contains("server refused"));
    }

    #[tokio::test(start_paused = true)]
    async fn the_summary_says_how_many_failed_and_where_to_look() {
        let (mut n, t) = rules();
        for i in 1..=15 {
            n.observe(&added(i, &format!("f{i}")), t);
        }
        for i in 1..=12 {
            n.observe(&state(i, FileState::Done), t);
        }
        for i in 13..=15 {
            n.observe(&state(i, failed(FailureKind::Refused, "no")), t);
        }
        // The failures came with the end of the burst: told in its summary, not apart.
        let got = n.take(t);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(
            got[0].body(Lang::En),
            "12 files uploaded, 3 failed — open the Failed tab."
        );
        assert_eq!(
            got[0].body(Lang::Fr),
            "12 fichiers envoyés, 3 en échec — ouvrez l’onglet Échecs."
        );
        assert_eq!(n.next_due(t), None);
    }

    #[tokio::test(start_paused = true)]
    async fn never_more_than_a_few_a_minute_and_nothing_is_lost() {
        let (mut n, t) = rules();
        let mut told = Vec::new();
        // A failure every 10 s for ten minutes while other files keep uploading.
        n.observe(&added(1000, "big.iso"), t);
        n.observe(&state(1000, FileState::Uploading), t);
        for i in 0..60u64 {
            let at = t + Duration::from_secs(10 * i);
            n.observe(&added(i, &format!("f{i}")), at);
            n.observe(&state(i, failed(FailureKind::ServerError, "x")), at);
            for step in 0..10 {
                let now = at + Duration::from_secs(step);
                for notice in n.take(now) {
                    told.push((now, notice));
                }
            }
        }
        for (i, (at, _)) in told.iter().enumerate() {
            let in_window = told[i..]
                .iter()
                .take_while(|(later, _)| *later < *at + WINDOW)
                .count();
            assert!(
                in_window <= MAX_PER_WINDOW,
                "{in_window} notices within a minute"
            );
        }
        let counted: usize = told
            .iter()
            .map(|(_, notice)| match notice {
                Notice::Failed { .. } => 1,
                Notice::ManyFailed { count } => *count,
                other => panic!("{other:?}"),
            })
            .sum();
        let last = t + Duration::from_secs(600);
        let rest: usize = n
            .take(n.next_due(last).unwrap_or(last).max(last))
            .iter()
            .map(|notice| match notice {
                Notice::ManyFailed { count } => *count,
                _ => 1,
            })
            .sum();
        assert_eq!(counted + rest, 60, "every failure is told once");
        assert!(told.len() <= 3 * 10 + 1, "{} notices", told.len());
    }

    #[tokio::test(start_paused = true)]
    async fn a_sign_out_is_told_at_once_even_past_the_limit_and_once_per_account() {
        let (mut n, t) = rules();
        for i in 1..=20 {
            n.observe(
                &added_to(i, &format!("f{i}"), "twake:me@drive.example:/Work"),
                t,
            );
        }
        n.observe(&added(21, "other"), t);
        n.observe(&state(21, FileState::Uploading), t);
        // The rate limit is used up by earlier notices.
        for i in 0..MAX_PER_WINDOW {
            n.told.push_back(t - Duration::from_secs(i as u64));
        }
        for i in 1..=20 {
            n.observe(
                &state(i, failed(FailureKind::SignedOut, "session ended")),
                t,
            );
        }
        let got = n.take(t);
        assert_eq!(
            got,
            [Notice::SignedOut {
                account: "me@drive.example".into()
            }]
        );
        assert_eq!(got[0].title(Lang::En), "Signed out of me@drive.example");
        assert!(
            n.take(t).is_empty(),
            "once for the account, not once per file"
        );
        // Signed in again: its uploads restart; a second sign-out is news again.
        n.observe(&state(1, FileState::Queued), t);
        n.observe(
            &state(1, failed(FailureKind::SignedOut, "session ended")),
            t,
        );
        assert_eq!(n.take(t).len(), 1);
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
            failed: 0,
            paused: 1,
        };
        assert_eq!(
            finished.body(Lang::Fr),
            "1\u{202f}500 fichiers envoyés, 1 en pause."
        );
        assert_eq!(
            Notice::ManyFailed { count: 3 }.title(Lang::Fr),
            "3 envois en échec"
        );
        assert_eq!(
            Notice::SignedOut {
                account: "moi@drive.example".into()
            }
            .title(Lang::Fr),
            "Déconnecté de moi@drive.example"
        );
    }
}
