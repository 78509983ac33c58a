//! The nine chunk parameters of the wire protocol, in both dialects (docs/protocol.md).
//! One struct holds the values; the dialect only decides the names they go out under.

use super::plan::ChunkPlan;
use serde::{Deserialize, Serialize};

/// Parameter naming of the two browser libraries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Dialect {
    /// `resumableChunkNumber`, … (resumable.js).
    #[default]
    Resumable,
    /// `flowChunkNumber`, … (flow.js); flow.js sends no type parameter.
    Flow,
}

impl Dialect {
    fn prefix(self) -> &'static str {
        match self {
            Dialect::Resumable => "resumable",
            Dialect::Flow => "flow",
        }
    }
}

impl std::str::FromStr for Dialect {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "resumable" | "resumablejs" | "resumable.js" => Ok(Dialect::Resumable),
            "flow" | "flowjs" | "flow.js" => Ok(Dialect::Flow),
            other => Err(format!(
                "unknown dialect '{other}': use 'resumable' or 'flow'"
            )),
        }
    }
}

/// The values describing one chunk of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkParams {
    pub chunk_number: u32,
    pub chunk_size: u64,
    pub current_chunk_size: u64,
    pub total_size: u64,
    pub mime_type: String,
    pub identifier: String,
    pub filename: String,
    pub relative_path: String,
    pub total_chunks: u32,
}

impl ChunkParams {
    /// Parameters for chunk `number` of a planned file.
    pub fn for_chunk(
        plan: &ChunkPlan,
        number: u32,
        identifier: &str,
        filename: &str,
        relative_path: &str,
        mime_type: &str,
    ) -> ChunkParams {
        ChunkParams {
            chunk_number: number,
            chunk_size: plan.chunk_size,
            current_chunk_size: plan.len(number),
            total_size: plan.size,
            mime_type: mime_type.to_string(),
            identifier: identifier.to_string(),
            filename: filename.to_string(),
            relative_path: relative_path.to_string(),
            total_chunks: plan.total_chunks,
        }
    }

    /// Name/value pairs as the dialect names them, in the order the libraries send them.
    pub fn pairs(&self, dialect: Dialect) -> Vec<(String, String)> {
        let p = dialect.prefix();
        let mut out = vec![
            (format!("{p}ChunkNumber"), self.chunk_number.to_string()),
            (format!("{p}ChunkSize"), self.chunk_size.to_string()),
            (
                format!("{p}CurrentChunkSize"),
                self.current_chunk_size.to_string(),
            ),
            (format!("{p}TotalSize"), self.total_size.to_string()),
        ];
        if dialect == Dialect::Resumable {
            out.push((format!("{p}Type"), self.mime_type.clone()));
        }
        out.extend([
            (format!("{p}Identifier"), self.identifier.clone()),
            (format!("{p}Filename"), self.filename.clone()),
            (format!("{p}RelativePath"), self.relative_path.clone()),
            (format!("{p}TotalChunks"), self.total_chunks.to_string()),
        ]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::plan::ChunkRule;

    fn sample() -> ChunkParams {
        let plan = ChunkPlan::new(2500, 1000, ChunkRule::Floor);
        ChunkParams::for_chunk(&plan, 2, "2500-ab", "a b.txt", "dir/a b.txt", "text/plain")
    }

    #[test]
    fn resumable_dialect_sends_all_nine_parameters() {
        let pairs = sample().pairs(Dialect::Resumable);
        assert_eq!(pairs.len(), 9);
        assert!(pairs.contains(&("resumableCurrentChunkSize".into(), "1500".into())));
        assert!(pairs.contains(&("resumableType".into(), "text/plain".into())));
        assert!(pairs.contains(&("resumableRelativePath".into(), "dir/a b.txt".into())));
    }

    #[test]
    fn flow_dialect_uses_flow_names_and_has_no_type() {
        let pairs = sample().pairs(Dialect::Flow);
        assert_eq!(pairs.len(), 8);
        assert!(pairs.iter().all(|(k, _)| k.starts_with("flow")));
        assert!(pairs.contains(&("flowTotalChunks".into(), "2".into())));
    }

    #[test]
    fn dialect_parses_from_user_words() {
        assert_eq!("Flow".parse::<Dialect>(), Ok(Dialect::Flow));
        assert_eq!("resumable".parse::<Dialect>(), Ok(Dialect::Resumable));
        assert!("tus".parse::<Dialect>().is_err());
    }
}
