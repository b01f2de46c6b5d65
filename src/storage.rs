//! The storage layer: files kept outside the database (student photos now; report cards
//! and receipts later). Keys always start with the tenant id, and files are only ever
//! served by handlers that found the key through a tenant-scoped query, so one school can
//! never name another's file. The filesystem store serves one server; an object store
//! (S3-compatible) can implement the same trait when Kilele runs on several.

use crate::tenancy::TenantId;
use std::path::{Component, Path, PathBuf};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("invalid key")]
    InvalidKey,
    #[error("storage i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// Where files live.
#[derive(Debug, Clone)]
pub struct FileStore {
    root: PathBuf,
}

impl FileStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// A key for a new file of a school: `<tenant>/<area>/<random>.<ext>`.
    pub fn new_key(tenant: TenantId, area: &str, ext: &str) -> String {
        format!("{}/{area}/{}.{ext}", tenant.0, Uuid::new_v4().simple())
    }

    fn path(&self, key: &str) -> Result<PathBuf, StorageError> {
        let rel = Path::new(key);
        // Only plain relative names: no "..", no absolute paths, no prefixes.
        if key.is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(StorageError::InvalidKey);
        }
        Ok(self.root.join(rel))
    }

    pub async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StorageError> {
        let path = self.path(key)?;
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        // Write then rename: a reader never sees half a file.
        let tmp = path.with_extension("part");
        tokio::fs::write(&tmp, bytes).await?;
        tokio::fs::rename(&tmp, &path).await?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        match tokio::fs::read(self.path(key)?).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

/// Image kinds accepted for photos, recognised by their first bytes (never by the name the
/// browser sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Jpeg,
    Png,
    Webp,
}

impl ImageKind {
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            Some(Self::Png)
        } else if bytes.len() > 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Self::Webp)
        } else {
            None
        }
    }

    pub fn ext(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
        }
    }

    pub fn from_ext(ext: &str) -> Option<Self> {
        [Self::Jpeg, Self::Png, Self::Webp].into_iter().find(|k| k.ext() == ext)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keys_stay_inside_the_root_and_files_round_trip() {
        let dir = std::env::temp_dir().join(format!("kilele-store-{}", Uuid::new_v4().simple()));
        let store = FileStore::new(&dir);
        let key = FileStore::new_key(TenantId(Uuid::nil()), "students", "png");
        store.put(&key, b"abc").await.unwrap();
        assert_eq!(store.get(&key).await.unwrap().as_deref(), Some(&b"abc"[..]));
        store.delete(&key).await.unwrap();
        assert_eq!(store.get(&key).await.unwrap(), None);
        for bad in ["", "../etc/passwd", "/etc/passwd", "a/../../b", "./x"] {
            assert!(matches!(store.get(bad).await, Err(StorageError::InvalidKey)), "{bad}");
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn images_are_recognised_by_content() {
        assert_eq!(ImageKind::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(ImageKind::Jpeg));
        assert_eq!(ImageKind::sniff(b"PNG"), None);
        assert_eq!(ImageKind::sniff(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0]), Some(ImageKind::Png));
        assert_eq!(ImageKind::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(ImageKind::Webp));
        assert_eq!(ImageKind::sniff(b"<svg onload=alert(1)>"), None);
    }
}
