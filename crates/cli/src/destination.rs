//! Where `--to` points: a Resumable.js / Flow.js URL, or a folder of the signed-in Twake
//! Drive account (`twake:/Drive/Path`), and what each needs before and after a run.

use upload_engine::accounts::AccountKind;
use upload_engine::targets::resumable::parse_upload_url;
use upload_engine::targets::twake::CollisionPolicy;
use upload_engine::{Dialect, Engine, SourceFile, TargetSpec};

/// Where `--to` points: a Resumable.js URL, or a folder of the signed-in Twake Drive account.
pub enum Destination {
    Resumable(TargetSpec),
    Twake { spec: TargetSpec, shown: String },
}

impl Destination {
    pub async fn parse(
        to: &str,
        dialect: Dialect,
        collision: CollisionPolicy,
    ) -> anyhow::Result<Destination> {
        let Some(folder) = to.strip_prefix("twake:") else {
            let url = parse_upload_url(to)?;
            return Ok(Destination::Resumable(TargetSpec::Resumable {
                url: url.to_string(),
                dialect,
            }));
        };
        let account = crate::twake::accounts()?
            .current()
            .await
            .map_err(crate::twake::hinted)?;
        let folder = folder.trim().to_string();
        // The current account says which Twake Drive it is on.
        let spec = match account.kind {
            AccountKind::Tdrive => TargetSpec::Twake {
                account: account.name.clone(),
                folder: folder.clone(),
                collision,
            },
            AccountKind::Cozy => TargetSpec::Cozy {
                account: account.name.clone(),
                folder: folder.clone(),
                collision,
            },
        };
        let shown = format!(
            "Twake Drive {}:/{}",
            account.server,
            folder.trim_matches('/')
        );
        Ok(Destination::Twake { spec, shown })
    }

    pub fn spec(&self) -> &TargetSpec {
        match self {
            Destination::Resumable(spec) | Destination::Twake { spec, .. } => spec,
        }
    }

    pub fn shown(&self) -> String {
        match self {
            Destination::Resumable(TargetSpec::Resumable { url, .. }) => url.clone(),
            Destination::Resumable(spec) => format!("{spec:?}"),
            Destination::Twake { shown, .. } => shown.clone(),
        }
    }

    /// Gets the server ready for these files before they are queued (for Twake Drive: the
    /// folder is checked, and new folders stay hidden until complete).
    pub async fn prepare(&self, engine: &Engine, files: &[SourceFile]) -> anyhow::Result<()> {
        let rels: Vec<String> = files.iter().map(|f| f.relative_path.clone()).collect();
        engine.prepare(self.spec(), &rels).await?;
        Ok(())
    }

    /// Lines to show after the run (folders still hidden because files are missing).
    pub async fn closing_notes(&self, engine: &Engine) -> Vec<String> {
        engine
            .waiting_folders(self.spec())
            .await
            .into_iter()
            .map(|(name, missing)| {
                format!(
                    "note    the folder '{name}' stays hidden in the Twake Drive trash until its \
                     {missing} remaining file(s) are uploaded"
                )
            })
            .collect()
    }
}
