//! What the cozy-stack double keeps: the file tree (directories and files with ids and
//! CouchDB-style revisions `N-hex`), the OAuth clients, the one-time codes and the tokens.
//! File contents live on disk, one blob per revision; this only points at them.

use std::collections::HashMap;
use std::time::{Duration, Instant};

pub const ROOT_ID: &str = "io.cozy.files.root-dir";
pub const TRASH_ID: &str = "io.cozy.files.trash-dir";
pub const TRASH_NAME: &str = ".cozy_trash";

#[derive(Clone, Debug)]
pub struct Node {
    pub id: String,
    pub rev: String,
    pub name: String,
    /// The parent directory; empty for the root.
    pub dir_id: String,
    pub is_dir: bool,
    pub size: u64,
    /// base64 of the binary MD5, as the stack keeps it.
    pub md5: String,
    pub mime: String,
    pub created_at: String,
    pub updated_at: String,
    /// How many revisions of the content there were (1 for a new file).
    pub versions: u32,
}

impl Node {
    pub fn bump(&mut self) {
        let n: u32 = self
            .rev
            .split('-')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        self.rev = format!("{}-{}", n + 1, random_hex(16));
    }
}

#[derive(Clone, Debug)]
pub struct Client {
    pub id: String,
    pub secret: String,
    pub registration_token: String,
    pub redirect_uris: Vec<String>,
    pub name: String,
    pub kind: String,
}

#[derive(Clone, Debug)]
pub struct Code {
    pub client_id: String,
    pub scope: String,
    pub expires: Instant,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

#[derive(Clone, Debug)]
pub struct Token {
    pub client_id: String,
    pub kind: TokenKind,
    pub scope: String,
    /// Refresh tokens live as long as their client.
    pub expires: Option<Instant>,
}

pub struct Model {
    pub nodes: HashMap<String, Node>,
    pub clients: HashMap<String, Client>,
    pub codes: HashMap<String, Code>,
    pub tokens: HashMap<String, Token>,
}

pub fn random_hex(bytes: usize) -> String {
    let raw: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    hex::encode(raw)
}

pub fn now_rfc3339() -> String {
    rfc3339(std::time::SystemTime::now())
}

/// RFC 3339 (UTC, seconds), the stack's date format.
pub fn rfc3339(time: std::time::SystemTime) -> String {
    upload_engine::targets::cozy::upload::rfc3339(time)
}

impl Model {
    pub fn new() -> Model {
        let now = now_rfc3339();
        let dir = |id: &str, name: &str, parent: &str| Node {
            id: id.into(),
            rev: format!("1-{}", random_hex(16)),
            name: name.into(),
            dir_id: parent.into(),
            is_dir: true,
            size: 0,
            md5: String::new(),
            mime: String::new(),
            created_at: now.clone(),
            updated_at: now.clone(),
            versions: 1,
        };
        let mut nodes = HashMap::new();
        nodes.insert(ROOT_ID.to_string(), dir(ROOT_ID, "", ""));
        nodes.insert(TRASH_ID.to_string(), dir(TRASH_ID, TRASH_NAME, ROOT_ID));
        Model {
            nodes,
            clients: HashMap::new(),
            codes: HashMap::new(),
            tokens: HashMap::new(),
        }
    }

    /// Children of a directory, by name (the stack's listing order).
    pub fn children(&self, dir_id: &str) -> Vec<&Node> {
        let mut out: Vec<&Node> = self.nodes.values().filter(|n| n.dir_id == dir_id).collect();
        out.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        out
    }

    pub fn child(&self, dir_id: &str, name: &str) -> Option<&Node> {
        self.nodes
            .values()
            .find(|n| n.dir_id == dir_id && n.name == name)
    }

    /// The absolute path of a node ("/a/b"), "/" for the root.
    pub fn path_of(&self, id: &str) -> String {
        let mut names = Vec::new();
        let mut at = id;
        while let Some(node) = self.nodes.get(at) {
            if node.id == ROOT_ID {
                break;
            }
            names.push(node.name.clone());
            at = &node.dir_id;
        }
        names.reverse();
        format!("/{}", names.join("/"))
    }

    pub fn by_path(&self, path: &str) -> Option<&Node> {
        let mut at = self.nodes.get(ROOT_ID)?;
        for name in path.split('/').filter(|s| !s.is_empty()) {
            at = self.child(&at.id, name)?;
        }
        Some(at)
    }

    pub fn used_bytes(&self) -> u64 {
        self.nodes
            .values()
            .filter(|n| !n.is_dir)
            .map(|n| n.size)
            .sum()
    }

    pub fn new_token(
        &mut self,
        client_id: &str,
        kind: TokenKind,
        scope: &str,
        life: Option<Duration>,
    ) -> String {
        let value = random_hex(24);
        self.tokens.insert(
            value.clone(),
            Token {
                client_id: client_id.into(),
                kind,
                scope: scope.into(),
                expires: life.map(|l| Instant::now() + l),
            },
        );
        value
    }
}
