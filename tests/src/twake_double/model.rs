//! What the Twake Drive double remembers: users, tokens, uploaded files (one file on disk per
//! chunk, as the real server stores pieces) and Drive items. Pure bookkeeping behind one
//! lock; the HTTP handlers in `routes.rs` never hold it across an await.

use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

/// Children the GET listing returns at most, like the real server.
pub const LISTING_CAP: usize = 1000;

#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub email: String,
    pub password: String,
    /// (company id, company name)
    pub companies: Vec<(String, String)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

#[derive(Clone, Debug)]
pub struct Token {
    pub user_id: String,
    pub kind: TokenKind,
    pub expires: i64,
}

/// An uploaded file of the files service.
#[derive(Clone, Debug)]
pub struct StoredFile {
    pub id: String,
    pub company_id: String,
    pub user_id: String,
    pub name: String,
    pub mime: String,
    pub total_size: u64,
    pub total_chunks: u32,
    /// Chunk number → bytes stored (the bytes are in `chunk_path`).
    pub chunks: BTreeMap<u32, u64>,
}

#[derive(Clone, Debug)]
pub struct Item {
    pub id: String,
    pub company_id: String,
    pub parent_id: String,
    pub name: String,
    pub is_directory: bool,
    pub is_in_trash: bool,
    /// File ids of the versions, oldest first.
    pub versions: Vec<String>,
    pub size: u64,
    /// Its public link: who may open it without an account.
    pub public: PublicAccess,
}

/// `access_info.public` of an item: the level anyone with the link has ("none" until someone
/// opens it, as on the real server) and the link's token, made with the item.
#[derive(Clone, Debug)]
pub struct PublicAccess {
    pub level: String,
    pub token: String,
}

impl Default for PublicAccess {
    fn default() -> Self {
        PublicAccess {
            level: "none".into(),
            token: format!("{:016x}", rand::random::<u64>()),
        }
    }
}

impl Item {
    /// The item as a folder listing shows it here: without its `access_info`, which only
    /// `GET …/item/{id}` of the item itself needs, so that a listing of 1000 children stays
    /// under the client's 256 KiB answer cap. A real server lists it with its access, and
    /// longer: whether that cap fits a real 1000-child folder is still to be measured.
    pub fn to_child_json(&self) -> Value {
        let mut json = self.to_json();
        if let Some(o) = json.as_object_mut() {
            o.remove("access_info");
        }
        json
    }

    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "company_id": self.company_id,
            "parent_id": self.parent_id,
            "name": self.name,
            "is_directory": self.is_directory,
            "is_in_trash": self.is_in_trash,
            "size": self.size,
            "access_info": {
                "entities": [],
                "public": {
                    "level": self.public.level,
                    "token": self.public.token,
                    "password": "",
                    "expiration": 0,
                },
            },
            "last_version_cache": self.versions.last().map(|f| json!({
                "file_metadata": {"external_id": f, "source": "internal"}
            })),
        })
    }
}

#[derive(Default)]
pub struct Model {
    pub users: Vec<User>,
    pub tokens: HashMap<String, Token>,
    pub files: HashMap<String, StoredFile>,
    pub items: HashMap<String, Item>,
    /// Creation order of items, so listings are stable.
    pub order: Vec<String>,
    /// Folder id → access level other than the default "manage" (e.g. "read").
    pub access: HashMap<String, String>,
    /// Sessions opened with an item's public link: token → the item it opens.
    pub public_sessions: HashMap<String, String>,
    pub next_id: u64,
}

impl Model {
    /// A new id, a UUID as the real server's ids are (its web client's links are made of
    /// them); the first group tells the kind apart when reading a test's output.
    pub fn new_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        let kind = prefix
            .bytes()
            .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
        format!("{kind:08x}-0000-1000-8000-{:012x}", self.next_id)
    }

    /// Whether item `id` is `document` or inside it (a public link to a folder opens what
    /// it holds).
    pub fn is_within(&self, id: &str, document: &str) -> bool {
        let mut at = id.to_string();
        for _ in 0..64 {
            if at == document {
                return true;
            }
            match self.items.get(&at) {
                Some(item) if item.parent_id != at => at = item.parent_id.clone(),
                _ => return false,
            }
        }
        false
    }

    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// Bytes stored in all chunks of all files, for the quota.
    pub fn used_bytes(&self) -> u64 {
        self.files.values().flat_map(|f| f.chunks.values()).sum()
    }

    /// Whether a folder id exists for this user (`user_<id>` always does).
    pub fn folder_exists(&self, user_id: &str, id: &str) -> bool {
        id == format!("user_{user_id}")
            || id == "root"
            || self.items.get(id).is_some_and(|i| i.is_directory)
    }

    pub fn access_of(&self, user_id: &str, id: &str) -> &str {
        if let Some(a) = self.access.get(id) {
            return a;
        }
        if id == "root" {
            return "read";
        }
        if id == format!("user_{user_id}") {
            return "manage";
        }
        // Inherit from the parent chain.
        match self.items.get(id) {
            Some(item) if item.parent_id != id => self.access_of(user_id, &item.parent_id),
            _ => "manage",
        }
    }

    /// Children of a folder in creation order, trashed ones included.
    pub fn all_children(&self, parent: &str) -> Vec<&Item> {
        self.order
            .iter()
            .filter_map(|id| self.items.get(id))
            .filter(|i| i.parent_id == parent)
            .collect()
    }

    /// Children a listing shows: not in the trash.
    pub fn visible_children(&self, parent: &str) -> Vec<&Item> {
        self.all_children(parent)
            .into_iter()
            .filter(|i| !i.is_in_trash)
            .collect()
    }

    /// The name the server gives a new item: `a.txt`, else `a-2.txt`, `a-3.txt`… Items in the
    /// trash count, as on the real server.
    pub fn free_name(&self, parent: &str, wanted: &str) -> String {
        let taken: Vec<&str> = self
            .all_children(parent)
            .iter()
            .map(|i| i.name.as_str())
            .collect();
        if !taken.contains(&wanted) {
            return wanted.to_string();
        }
        let (stem, ext) = match wanted.rfind('.') {
            Some(dot) if dot > 0 => (&wanted[..dot], &wanted[dot..]),
            _ => (wanted, ""),
        };
        (2..)
            .map(|n| format!("{stem}-{n}{ext}"))
            .find(|candidate| !taken.contains(&candidate.as_str()))
            .unwrap_or_else(|| wanted.to_string())
    }

    pub fn file_json(&self, f: &StoredFile) -> Value {
        json!({
            "resource": {
                "id": f.id,
                "company_id": f.company_id,
                "user_id": f.user_id,
                "metadata": {"name": f.name, "mime": f.mime},
                "upload_data": {"size": f.total_size, "chunks": f.total_chunks},
            }
        })
    }

    /// Drive item ids whose current version is `file_id`.
    pub fn items_of_file(&self, file_id: &str) -> usize {
        self.items
            .values()
            .filter(|i| i.versions.last().map(String::as_str) == Some(file_id))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(model: &mut Model, parent: &str, name: &str, trash: bool) {
        let id = model.new_id("item");
        model.order.push(id.clone());
        model.items.insert(
            id.clone(),
            Item {
                id,
                company_id: "c".into(),
                parent_id: parent.into(),
                name: name.into(),
                is_directory: false,
                is_in_trash: trash,
                versions: vec![],
                size: 0,
                public: Default::default(),
            },
        );
    }

    #[test]
    fn colliding_names_get_a_number_and_trashed_items_count() {
        let mut m = Model::default();
        item(&mut m, "p", "a.txt", false);
        item(&mut m, "p", "a-2.txt", true);
        item(&mut m, "p", "noext", false);
        assert_eq!(m.free_name("p", "a.txt"), "a-3.txt");
        assert_eq!(m.free_name("p", "b.txt"), "b.txt");
        assert_eq!(m.free_name("p", "noext"), "noext-2");
        assert_eq!(m.visible_children("p").len(), 2);
    }
}
