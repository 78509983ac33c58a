//! The kinds of server the engine knows, each registered once with its capabilities and how
//! to build a live target from its `TargetSpec`. Adding a server is a folder under
//! `targets/`, a `TargetSpec` variant, and one line in `KINDS` (ARCHITECTURE.md).

use super::{cozy, resumable, twake, Capabilities, HttpSettings, Target, TargetSpec};
use crate::targets::TargetError;
use std::sync::Arc;

/// How a kind builds a live target from its description.
pub type BuildFn = fn(&TargetSpec, &TargetContext) -> Result<Arc<dyn Target>, TargetError>;

/// One kind of server.
pub struct TargetKind {
    /// The `kind` tag of its `TargetSpec` in the queue database.
    pub name: &'static str,
    pub capabilities: Capabilities,
    /// Builds a live target; `spec` is always of this kind.
    pub build: BuildFn,
}

/// Every kind, for listings and checks.
pub static KINDS: &[&TargetKind] = &[&resumable::KIND, &twake::KIND, &cozy::KIND];

/// What building a target may use: the HTTP settings, and the signed-in accounts for targets
/// that need a session (injected by the front end through the engine's config).
#[derive(Clone)]
pub struct TargetContext {
    pub http: HttpSettings,
    pub sessions: Option<Arc<dyn twake::Sessions>>,
    /// The same for cozy-stack accounts.
    pub cozy: Option<Arc<dyn cozy::CozySessions>>,
}

/// Builds a live target from its description.
pub fn build_target(
    spec: &TargetSpec,
    context: &TargetContext,
) -> Result<Arc<dyn Target>, TargetError> {
    (spec.kind().build)(spec, context)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_registered_under_the_tag_its_spec_is_saved_with() {
        let specs = [
            TargetSpec::Resumable {
                url: "http://127.0.0.1:1/upload".into(),
                dialect: crate::protocol::Dialect::Resumable,
            },
            TargetSpec::Twake {
                account: "a@b".into(),
                folder: String::new(),
                collision: twake::CollisionPolicy::default(),
            },
            TargetSpec::Cozy {
                account: "a@b".into(),
                folder: String::new(),
                collision: twake::CollisionPolicy::default(),
            },
        ];
        for spec in &specs {
            let saved = serde_json::to_value(spec).unwrap();
            assert_eq!(saved["kind"], spec.kind().name);
            assert!(KINDS.iter().any(|k| std::ptr::eq(*k, spec.kind())));
        }
        assert_eq!(KINDS.len(), specs.len());
    }
}
