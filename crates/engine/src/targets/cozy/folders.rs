//! Folders on a cozy-stack instance, by path: the destination and the folders of a dropped
//! or watched tree under it, found with `GET /files/metadata?Path=` and created with
//! `POST /files/:dir-id?Type=directory&Name=` when missing. A 409 on creation means someone
//! (another file of the same batch, another device) made it first: look it up and use it,
//! never make a second one. Ids found are remembered for the target's life; a folder found
//! gone (404) is forgotten so the next file looks again.

use super::api::{self, Doc, Listing, One};
use super::error::CozyError;
use super::session::CozySession;
use std::collections::HashMap;

/// Absolute cozy path of `folder` (the destination, "/" or "" for the root) joined with the
/// `/`-separated `relative` (may be empty).
pub fn join(folder: &str, relative: &str) -> String {
    let parts: Vec<&str> = folder
        .split('/')
        .chain(relative.split('/'))
        .filter(|s| !s.is_empty())
        .collect();
    format!("/{}", parts.join("/"))
}

/// (parent path, name) of a path with at least one name.
pub fn split(path: &str) -> (String, String) {
    match path.trim_end_matches('/').rsplit_once('/') {
        Some((parent, name)) => (
            if parent.is_empty() {
                "/".into()
            } else {
                parent.to_string()
            },
            name.to_string(),
        ),
        None => ("/".into(), path.to_string()),
    }
}

/// What a person's "New folder" found (`Folders::make`).
#[derive(Debug, PartialEq, Eq)]
pub enum Made {
    New(String),
    /// A folder has the name already (the stack's 409).
    Existing,
    /// The name is a file's: a folder cannot be made there (the stack's 409 too).
    FileThere,
}

#[derive(Default)]
pub struct Folders {
    ids: tokio::sync::Mutex<HashMap<String, String>>,
}

impl Folders {
    /// The node at `path`, if there is one.
    pub async fn lookup(session: &CozySession, path: &str) -> Result<Option<Doc>, CozyError> {
        if path == "/" {
            return Ok(Some(Doc {
                id: api::ROOT_ID.into(),
                attributes: api::Attributes {
                    kind: "directory".into(),
                    name: String::new(),
                    dir_id: None,
                    size: None,
                    md5sum: None,
                    path: Some("/".into()),
                    trashed: false,
                },
                meta: Default::default(),
            }));
        }
        let url = session.url("/files/metadata");
        let reply = session
            .send(|| session.client().get(&url).query(&[("Path", path)]))
            .await?;
        match reply.status {
            404 => Ok(None),
            s if (200..300).contains(&s) => Ok(Some(reply.json::<One>()?.data)),
            _ => Err(reply.error()),
        }
    }

    /// The id of the folder at `path`, created with its missing parents.
    pub async fn ensure(&self, session: &CozySession, path: &str) -> Result<String, CozyError> {
        if path == "/" || path.is_empty() {
            return Ok(api::ROOT_ID.into());
        }
        if let Some(id) = self.ids.lock().await.get(path) {
            return Ok(id.clone());
        }
        let id = match Self::lookup(session, path).await? {
            Some(doc) if doc.is_dir() => doc.id,
            Some(_) => {
                return Err(CozyError::NotAFolder {
                    server: session.server().into(),
                    path: path.into(),
                })
            }
            None => {
                let (parent, name) = split(path);
                let parent_id = Box::pin(self.ensure(session, &parent)).await?;
                self.create(session, &parent_id, &name, path).await?
            }
        };
        self.ids.lock().await.insert(path.to_string(), id.clone());
        Ok(id)
    }

    async fn create(
        &self,
        session: &CozySession,
        parent_id: &str,
        name: &str,
        path: &str,
    ) -> Result<String, CozyError> {
        match self.post_folder(session, parent_id, name, path).await? {
            Some(id) => Ok(id),
            None => match Self::lookup(session, path).await? {
                Some(doc) if doc.is_dir() => Ok(doc.id),
                Some(_) => Err(CozyError::NotAFolder {
                    server: session.server().into(),
                    path: path.into(),
                }),
                None => Err(CozyError::Server {
                    url: session.url(&api::node(parent_id)),
                    status: 409,
                    detail: format!("'{path}' exists, yet cannot be found"),
                    retry_after: None,
                }),
            },
        }
    }

    /// `POST /files/:parent-id?Type=directory&Name=`: the new folder's id, or `None` on the
    /// stack's 409 (a folder or a file of that name is there).
    async fn post_folder(
        &self,
        session: &CozySession,
        parent_id: &str,
        name: &str,
        path: &str,
    ) -> Result<Option<String>, CozyError> {
        let url = session.url(&api::node(parent_id));
        let reply = session
            .send(|| {
                session
                    .client()
                    .post(&url)
                    .query(&[("Type", "directory"), ("Name", name)])
            })
            .await?;
        match reply.status {
            s if (200..300).contains(&s) => Ok(Some(reply.json::<One>()?.data.id)),
            409 => Ok(None),
            404 => {
                self.forget_under(&split(path).0).await;
                Err(CozyError::FolderGone {
                    server: session.server().into(),
                    path: split(path).0,
                })
            }
            422 => Err(CozyError::BadName {
                server: session.server().into(),
                name: name.into(),
                detail: reply.detail(),
            }),
            _ => Err(reply.error()),
        }
    }

    /// Makes folder `name` inside the existing folder `parent`, for a person's "New folder":
    /// `Existing` when a folder has the name, `FileThere` when a file has it (nothing is made
    /// then).
    pub async fn make(
        &self,
        session: &CozySession,
        parent: &str,
        name: &str,
    ) -> Result<Made, CozyError> {
        let parent = join(parent, "");
        let parent_id = match Self::lookup(session, &parent).await? {
            Some(doc) if doc.is_dir() => doc.id,
            Some(_) => {
                return Err(CozyError::NotAFolder {
                    server: session.server().into(),
                    path: parent,
                })
            }
            None => {
                return Err(CozyError::FolderGone {
                    server: session.server().into(),
                    path: parent,
                })
            }
        };
        let path = join(&parent, name);
        match self.post_folder(session, &parent_id, name, &path).await? {
            Some(id) => Ok(Made::New(id)),
            // The stack answers 409 for a file as for a folder: the person is told which.
            None => match Self::lookup(session, &path).await? {
                Some(doc) if !doc.is_dir() => Ok(Made::FileThere),
                _ => Ok(Made::Existing),
            },
        }
    }

    /// What the folder at `path` holds, the trash left out; `None` when no folder is there.
    pub async fn contents(
        session: &CozySession,
        path: &str,
    ) -> Result<Option<Vec<Doc>>, CozyError> {
        let path = join(path, "");
        match Self::lookup(session, &path).await? {
            Some(doc) if doc.is_dir() => {
                let mut children = Self::list(session, &doc.id).await?;
                children.retain(|c| !c.is_trash());
                Ok(Some(children))
            }
            Some(_) => Err(CozyError::NotAFolder {
                server: session.server().into(),
                path,
            }),
            None => Ok(None),
        }
    }

    /// Forgets what was known of `path` and below (a folder found gone).
    pub async fn forget_under(&self, path: &str) {
        let prefix = format!("{}/", path.trim_end_matches('/'));
        self.ids
            .lock()
            .await
            .retain(|p, _| p != path && !p.starts_with(&prefix));
    }

    /// Every child of a folder, following `links.next` page after page.
    pub async fn list(session: &CozySession, dir_id: &str) -> Result<Vec<Doc>, CozyError> {
        let mut out = Vec::new();
        let mut next = Some(api::node(dir_id));
        while let Some(path) = next.take() {
            let url = session.url(&path);
            let reply = session.send(|| session.client().get(&url)).await?;
            if !reply.ok() {
                return Err(reply.error());
            }
            let page: Listing = reply.json()?;
            let empty = page.included.is_empty();
            out.extend(page.included);
            // A next link on an empty page would loop forever.
            next = page.links.next.filter(|_| !empty);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_and_split_as_the_stack_writes_them() {
        assert_eq!(join("", "a/b.txt"), "/a/b.txt");
        assert_eq!(join("/Uploads/", "x"), "/Uploads/x");
        assert_eq!(join("/", ""), "/");
        assert_eq!(split("/a/b.txt"), ("/a".into(), "b.txt".into()));
        assert_eq!(split("/b.txt"), ("/".into(), "b.txt".into()));
    }
}
