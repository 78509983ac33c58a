//! How `upload` shows progress: bars on a terminal, plain lines in logs and pipes, or one
//! JSON object per event for scripts. All three only render engine events.

use crate::size::human_bytes;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::time::{Duration, Instant};
use upload_engine::{Event, FileState, UploadId, UploadSummary};

/// Renders events, and remembers which files it announced and which results it printed, so
/// that a resync from the queue after a lagging event stream fills what was missed, once.
pub struct Renderer {
    view: View,
    announced: HashSet<UploadId>,
    reported: HashMap<UploadId, FileState>,
}

enum View {
    Bars(Bars),
    Plain(Plain),
    Json,
}

impl Renderer {
    pub fn new(json: bool, terminal: bool) -> Renderer {
        let view = if json {
            View::Json
        } else if terminal {
            View::Bars(Bars::new())
        } else {
            View::Plain(Plain::default())
        };
        Renderer {
            view,
            announced: HashSet::new(),
            reported: HashMap::new(),
        }
    }

    pub fn event(&mut self, e: &Event) {
        match e {
            Event::Added { upload } if !self.announced.insert(upload.id) => return,
            Event::File { id, state } => {
                // After a resync, events older than the queue's state still arrive: a file
                // whose result was printed does not go back to "uploading", nor print twice.
                let before = self.reported.get(id);
                if before.is_some_and(|b| b.is_finished() && (b == state || !state.is_finished())) {
                    return;
                }
                self.reported.insert(*id, state.clone());
            }
            _ => {}
        }
        match &mut self.view {
            View::Json => {
                if let Ok(line) = serde_json::to_string(e) {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{line}");
                }
            }
            View::Bars(b) => b.event(e),
            View::Plain(p) => p.event(e),
        }
    }

    /// Whether the file's `Added` event was rendered (a later event about a file not yet
    /// announced means the stream lost events).
    pub fn knows(&self, id: UploadId) -> bool {
        self.announced.contains(&id)
    }

    /// Renders what the event stream lost, from the queue's own state: files never announced
    /// and results never printed. Events that arrive later for the same results are dropped.
    pub fn resync(&mut self, uploads: &[UploadSummary]) {
        for u in uploads {
            if !self.announced.contains(&u.id) {
                self.event(&Event::Added { upload: u.clone() });
            }
            if u.state.is_finished() && self.reported.get(&u.id) != Some(&u.state) {
                self.event(&Event::File {
                    id: u.id,
                    state: u.state.clone(),
                });
            }
        }
    }

    /// Prints the share link of a finished file on stdout (`upload --link`): a `shared`
    /// event in JSON, else `link    PATH URL` (the URL last, for `awk '{print $NF}'`).
    pub fn link(&mut self, upload: &UploadSummary, link: &str) {
        match &self.view {
            View::Json => self.event(&Event::Shared {
                id: upload.id,
                link: link.to_string(),
            }),
            _ => println!("link    {} {link}", upload.relative_path),
        }
    }

    /// Prints a line without tearing the bars.
    pub fn note(&self, text: &str) {
        match &self.view {
            View::Bars(b) => {
                let _ = b.multi.println(text);
            }
            View::Json => {
                let note = serde_json::json!({"type": "note", "message": text});
                println!("{note}");
            }
            View::Plain(_) => eprintln!("{text}"),
        }
    }

    pub fn finish(&mut self) {
        if let View::Bars(b) = &mut self.view {
            b.total.finish_and_clear();
            for bar in b.files.values() {
                bar.finish_and_clear();
            }
        }
    }
}

/// Names kept per upload so any renderer can say which file an event is about.
#[derive(Default)]
struct Names(HashMap<UploadId, (String, u64)>);

impl Names {
    fn add(&mut self, u: &UploadSummary) {
        self.0.insert(u.id, (u.relative_path.clone(), u.size));
    }
    fn rename(&mut self, id: UploadId, relative_path: &str) {
        if let Some(entry) = self.0.get_mut(&id) {
            entry.0 = relative_path.to_string();
        }
    }
    fn name(&self, id: UploadId) -> &str {
        self.0.get(&id).map_or("?", |(n, _)| n.as_str())
    }
    fn size(&self, id: UploadId) -> u64 {
        self.0.get(&id).map_or(0, |(_, s)| *s)
    }
}

pub struct Bars {
    multi: MultiProgress,
    total: ProgressBar,
    files: HashMap<UploadId, ProgressBar>,
    acked: HashMap<UploadId, u64>,
    names: Names,
}

impl Bars {
    fn new() -> Bars {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        let total = multi.add(ProgressBar::new(0));
        total.set_style(
            ProgressStyle::with_template(
                "{prefix:>8.bold} [{bar:30.cyan/blue}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        total.set_prefix("total");
        Bars {
            multi,
            total,
            files: HashMap::new(),
            acked: HashMap::new(),
            names: Names::default(),
        }
    }

    fn file_bar(&mut self, id: UploadId) -> &ProgressBar {
        let size = self.names.size(id);
        let name = self.names.name(id).to_string();
        let multi = &self.multi;
        self.files.entry(id).or_insert_with(|| {
            let bar = multi.add(ProgressBar::new(size));
            bar.set_style(
                ProgressStyle::with_template(
                    "  [{bar:30.green/white}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {wide_msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_message(name);
            bar
        })
    }

    fn set_acked(&mut self, id: UploadId, acked: u64) {
        let before = self.acked.insert(id, acked).unwrap_or(0);
        if acked >= before {
            self.total.inc(acked - before);
        } else {
            self.total
                .set_position(self.total.position().saturating_sub(before - acked));
        }
        if let Some(bar) = self.files.get(&id) {
            bar.set_position(acked);
        }
    }

    fn event(&mut self, e: &Event) {
        match e {
            Event::Added { upload } => {
                self.names.add(upload);
                self.total.inc_length(upload.size);
            }
            Event::File { id, state } => match state {
                FileState::Testing | FileState::Uploading => {
                    self.file_bar(*id);
                }
                FileState::Done => {
                    if let Some(bar) = self.files.remove(id) {
                        bar.finish_and_clear();
                    }
                    let line = format!(
                        "done    {} ({})",
                        self.names.name(*id),
                        human_bytes(self.names.size(*id))
                    );
                    let _ = self.multi.println(line);
                }
                FileState::Failed { reason, .. } => {
                    if let Some(bar) = self.files.remove(id) {
                        bar.abandon();
                    }
                    let line = format!("failed  {}: {reason}", self.names.name(*id));
                    let _ = self.multi.println(line);
                }
                FileState::Skipped { reason } => {
                    if let Some(bar) = self.files.remove(id) {
                        bar.finish_and_clear();
                    }
                    let line = format!("skipped {}: {reason}", self.names.name(*id));
                    let _ = self.multi.println(line);
                }
                FileState::Paused | FileState::Cancelled | FileState::Queued => {
                    if let Some(bar) = self.files.remove(id) {
                        bar.finish_and_clear();
                    }
                }
            },
            Event::Chunk {
                id, acked_bytes, ..
            } => self.set_acked(*id, *acked_bytes),
            Event::Progress {
                id, acked_bytes, ..
            } => self.set_acked(*id, *acked_bytes),
            Event::Replanned { id, reason, .. } => {
                self.set_acked(*id, 0);
                let line = format!("note    {}: {reason}", self.names.name(*id));
                let _ = self.multi.println(line);
            }
            Event::Totals { totals } => {
                self.total
                    .set_message(format!("{}/{} files", totals.files_done, totals.files));
            }
            Event::Connectivity { online, reason } => {
                let _ = self
                    .multi
                    .println(connectivity_line(*online, reason.as_deref()));
            }
            Event::Notice { message } => {
                let _ = self.multi.println(format!("note    {message}"));
            }
            Event::Renamed {
                id, relative_path, ..
            } => self.names.rename(*id, relative_path),
            // The terminal shows no order and no bytes in flight.
            Event::Removed { .. }
            | Event::Reordered { .. }
            | Event::InFlight { .. }
            | Event::Shared { .. } => {}
        }
    }
}

/// What the CLI says when the queue loses or regains the network.
fn connectivity_line(online: bool, reason: Option<&str>) -> String {
    match (online, reason) {
        (false, r) => format!(
            "offline {}; waiting for the network (nothing is lost; Ctrl-C to stop)",
            r.unwrap_or("")
        ),
        (true, None) => "online  the network is back; continuing".to_string(),
        (true, Some(r)) => format!("offline gave up: {r}"),
    }
}

/// Plain lines for logs: one per finished file and a progress line every few seconds.
#[derive(Default)]
pub struct Plain {
    names: Names,
    last_totals: Option<Instant>,
}

impl Plain {
    fn event(&mut self, e: &Event) {
        match e {
            Event::Added { upload } => self.names.add(upload),
            Event::Renamed {
                id, relative_path, ..
            } => self.names.rename(*id, relative_path),
            Event::File { id, state } => match state {
                FileState::Done => eprintln!(
                    "done    {} ({})",
                    self.names.name(*id),
                    human_bytes(self.names.size(*id))
                ),
                FileState::Failed { reason, .. } => {
                    eprintln!("failed  {}: {reason}", self.names.name(*id))
                }
                FileState::Skipped { reason } => {
                    eprintln!("skipped {}: {reason}", self.names.name(*id))
                }
                _ => {}
            },
            Event::Replanned { id, reason, .. } => {
                eprintln!("note    {}: {reason}", self.names.name(*id))
            }
            Event::Connectivity { online, reason } => {
                eprintln!("{}", connectivity_line(*online, reason.as_deref()))
            }
            Event::Notice { message } => eprintln!("note    {message}"),
            Event::Totals { totals } => {
                let due = self
                    .last_totals
                    .is_none_or(|t| t.elapsed() >= Duration::from_secs(5));
                if due && totals.bytes_acked < totals.bytes_total {
                    self.last_totals = Some(Instant::now());
                    eprintln!(
                        "progress {} of {} ({}/s), {}/{} files",
                        human_bytes(totals.bytes_acked),
                        human_bytes(totals.bytes_total),
                        human_bytes(totals.bytes_per_sec),
                        totals.files_done,
                        totals.files
                    );
                }
            }
            _ => {}
        }
    }
}
