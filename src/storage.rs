//! The storage layer: files kept outside the database (student photos, report cards; receipts
//! later). Keys always start with the tenant id, and files are only ever served by handlers
//! that found the key through a tenant-scoped query, so one school can never name another's
//! file. Two backends behind one type: a local directory (one server; the default) and an
//! S3-compatible object store through `object_store` (`STORAGE_URL=s3://bucket/prefix`), which
//! several servers and workers can share. The bucket stays private: every download is streamed
//! through Kilele after its tenant and permission checks.

use crate::tenancy::TenantId;
use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("invalid key")]
    InvalidKey,
    #[error("storage i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("object store: {0}")]
    Remote(#[from] object_store::Error),
    #[error("storage configuration: {0}")]
    Config(String),
}

/// Where an S3-compatible store is and how to sign in to it. The secret never shows in
/// `Debug` output (configuration is logged at start).
#[derive(Clone, PartialEq, Eq)]
pub struct S3Settings {
    pub bucket: String,
    /// Key prefix inside the bucket (no leading or trailing slash; may be empty).
    pub prefix: String,
    /// `http(s)://host:port` of a non-AWS server (MinIO, moto, Ceph…); `None` for AWS itself.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

impl S3Settings {
    /// Bucket and prefix from `s3://bucket/prefix`.
    pub fn parse_url(url: &str) -> Result<(String, String), StorageError> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| StorageError::Config(format!("`{url}` is not an s3:// URL")))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid_bucket {
            return Err(StorageError::Config(format!("`{bucket}` is not a bucket name (3-63 of a-z 0-9 . -)")));
        }
        let prefix = prefix.trim_matches('/');
        if !prefix.is_empty() && !plain_key(prefix) {
            return Err(StorageError::Config(format!("`{prefix}` is not a usable key prefix")));
        }
        Ok((bucket.to_owned(), prefix.to_owned()))
    }
}

/// Only plain relative names: no "..", no ".", no absolute paths, no empty segments.
fn plain_key(key: &str) -> bool {
    !key.is_empty() && !key.ends_with('/') && !key.contains("//") && Path::new(key).components().all(|c| matches!(c, Component::Normal(_)))
}

/// Makes ring the process's TLS provider for outgoing HTTPS (the object store; the
/// benchmarks' clients). reqwest is built without a bundled provider (its default would
/// compile aws-lc-rs next to the ring the rest of the stack uses), so a client built before
/// this panics: the binary calls it first thing, and so do the tests' harness. Idempotent.
pub fn install_crypto_provider() {
    // An Err only means a provider is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A file being downloaded: its size and its bytes as they arrive.
pub struct Download {
    pub size: u64,
    pub body: BoxStream<'static, Result<Bytes, StorageError>>,
}

/// Where files live. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Storage {
    backend: Backend,
}

#[derive(Debug, Clone)]
enum Backend {
    Local { root: PathBuf },
    S3 { store: Arc<object_store::aws::AmazonS3>, prefix: String, bucket: String },
}

/// Bundles are uploaded in parts of this size, a few at a time, so a large ZIP never sits in
/// memory whole.
const PART_BYTES: usize = 8 * 1024 * 1024;

impl Storage {
    /// Files in a local directory (created on first write).
    pub fn local(root: impl Into<PathBuf>) -> Self {
        Self { backend: Backend::Local { root: root.into() } }
    }

    /// Files in an S3-compatible bucket (which must exist).
    pub fn s3(settings: &S3Settings) -> Result<Self, StorageError> {
        install_crypto_provider();
        let mut builder = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_access_key_id(&settings.access_key_id)
            .with_secret_access_key(&settings.secret_access_key);
        if let Some(endpoint) = &settings.endpoint {
            // Path-style requests (`endpoint/bucket/key`): what self-hosted servers expect.
            builder =
                builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://")).with_virtual_hosted_style_request(false);
        }
        let store = builder.build()?;
        Ok(Self { backend: Backend::S3 { store: Arc::new(store), prefix: settings.prefix.clone(), bucket: settings.bucket.clone() } })
    }

    /// For the start-up log line: where files go (never a secret).
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Local { root } => format!("local directory {}", root.display()),
            Backend::S3 { bucket, prefix, .. } => format!("s3://{bucket}/{prefix}"),
        }
    }

    /// A key for a new file of a school: `<tenant>/<area>/<random>.<ext>`.
    pub fn new_key(tenant: TenantId, area: &str, ext: &str) -> String {
        format!("{}/{area}/{}.{ext}", tenant.0, Uuid::new_v4().simple())
    }

    fn local_path(root: &Path, key: &str) -> Result<PathBuf, StorageError> {
        if !plain_key(key) {
            return Err(StorageError::InvalidKey);
        }
        Ok(root.join(key))
    }

    /// Where a new local file is written first, and where it is renamed to (its folder made):
    /// written then renamed, a reader never sees half a file.
    async fn local_target(root: &Path, key: &str) -> Result<(PathBuf, PathBuf), StorageError> {
        let path = Self::local_path(root, key)?;
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        Ok((path.with_extension("part"), path))
    }

    fn object_path(prefix: &str, key: &str) -> Result<object_store::path::Path, StorageError> {
        if !plain_key(key) {
            return Err(StorageError::InvalidKey);
        }
        let full = if prefix.is_empty() { key.to_owned() } else { format!("{prefix}/{key}") };
        object_store::path::Path::parse(full).map_err(|_| StorageError::InvalidKey)
    }

    pub async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StorageError> {
        match &self.backend {
            Backend::Local { root } => {
                let (tmp, path) = Self::local_target(root, key).await?;
                tokio::fs::write(&tmp, bytes).await?;
                tokio::fs::rename(&tmp, &path).await?;
            }
            Backend::S3 { store, prefix, .. } => {
                // One PUT: the object appears whole or not at all.
                store.put(&Self::object_path(prefix, key)?, Bytes::copy_from_slice(bytes).into()).await?;
            }
        }
        Ok(())
    }

    /// Stores a (large) local file under `key` without reading it into memory whole.
    pub async fn put_file(&self, key: &str, file: &Path) -> Result<(), StorageError> {
        match &self.backend {
            Backend::Local { root } => {
                let (tmp, path) = Self::local_target(root, key).await?;
                tokio::fs::copy(file, &tmp).await?;
                tokio::fs::rename(&tmp, &path).await?;
            }
            Backend::S3 { store, prefix, .. } => {
                use tokio::io::AsyncReadExt;
                let upload = store.put_multipart(&Self::object_path(prefix, key)?).await?;
                let mut parts = object_store::WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
                let mut source = tokio::fs::File::open(file).await?;
                let mut buf = vec![0_u8; 1024 * 1024];
                loop {
                    let n = match source.read(&mut buf).await {
                        Ok(n) => n,
                        Err(e) => {
                            let _ = parts.abort().await;
                            return Err(e.into());
                        }
                    };
                    if n == 0 {
                        break;
                    }
                    // At most two parts in flight: memory stays at a few parts, whatever the size.
                    if let Err(e) = parts.wait_for_capacity(2).await {
                        let _ = parts.abort().await;
                        return Err(e.into());
                    }
                    parts.write(&buf[..n]);
                }
                parts.finish().await?;
            }
        }
        Ok(())
    }

    /// The whole file, for small files (photos, one card) and the ZIP builder.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        match &self.backend {
            Backend::Local { root } => match tokio::fs::read(Self::local_path(root, key)?).await {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e.into()),
            },
            Backend::S3 { store, prefix, .. } => match store.get(&Self::object_path(prefix, key)?).await {
                Ok(found) => Ok(Some(found.bytes().await?.to_vec())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e.into()),
            },
        }
    }

    /// The file as a stream, for downloads of any size.
    pub async fn open(&self, key: &str) -> Result<Option<Download>, StorageError> {
        match &self.backend {
            Backend::Local { root } => {
                let file = match tokio::fs::File::open(Self::local_path(root, key)?).await {
                    Ok(file) => file,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(e.into()),
                };
                let size = file.metadata().await?.len();
                let body = tokio_util::io::ReaderStream::new(file).map_err(StorageError::from).boxed();
                Ok(Some(Download { size, body }))
            }
            Backend::S3 { store, prefix, .. } => match store.get(&Self::object_path(prefix, key)?).await {
                Ok(found) => {
                    let size = found.meta.size;
                    Ok(Some(Download { size, body: found.into_stream().map_err(StorageError::from).boxed() }))
                }
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e.into()),
            },
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match &self.backend {
            Backend::Local { root } => match tokio::fs::remove_file(Self::local_path(root, key)?).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
                _ => Ok(()),
            },
            Backend::S3 { store, prefix, .. } => match store.delete(&Self::object_path(prefix, key)?).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(e.into()),
            },
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
        let store = Storage::local(&dir);
        let key = Storage::new_key(TenantId(Uuid::nil()), "students", "png");
        store.put(&key, b"abc").await.unwrap();
        assert_eq!(store.get(&key).await.unwrap().as_deref(), Some(&b"abc"[..]));
        let download = store.open(&key).await.unwrap().unwrap();
        assert_eq!(download.size, 3);
        let streamed: Vec<Bytes> = download.body.try_collect().await.unwrap();
        assert_eq!(streamed.concat(), b"abc");
        let big = dir.join("big.bin");
        std::fs::write(&big, vec![7_u8; 3 * 1024 * 1024 + 5]).unwrap();
        let bundle = Storage::new_key(TenantId(Uuid::nil()), "report-cards", "zip");
        store.put_file(&bundle, &big).await.unwrap();
        assert_eq!(store.get(&bundle).await.unwrap().map(|b| b.len()), Some(3 * 1024 * 1024 + 5));
        store.delete(&key).await.unwrap();
        assert_eq!(store.get(&key).await.unwrap(), None);
        assert!(store.open(&key).await.unwrap().is_none());
        for bad in ["", "../etc/passwd", "/etc/passwd", "a/../../b", "./x", "a//b", "a/"] {
            assert!(matches!(store.get(bad).await, Err(StorageError::InvalidKey)), "{bad}");
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn s3_urls_name_a_bucket_and_a_prefix() {
        assert_eq!(S3Settings::parse_url("s3://kilele-files").unwrap(), ("kilele-files".into(), String::new()));
        assert_eq!(S3Settings::parse_url("s3://kilele-files/prod/").unwrap(), ("kilele-files".into(), "prod".into()));
        for bad in ["kilele-files", "s3://", "s3://Bad_Bucket/x", "s3://ok-bucket/../x", "file:///tmp"] {
            assert!(S3Settings::parse_url(bad).is_err(), "{bad}");
        }
        let settings = S3Settings {
            bucket: "b".into(),
            prefix: String::new(),
            endpoint: None,
            region: "af-south-1".into(),
            access_key_id: "AKIA".into(),
            secret_access_key: "very-secret".into(),
        };
        assert!(!format!("{settings:?}").contains("very-secret"));
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
