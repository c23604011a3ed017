//! Content-addressed media storage: a local directory by default, or S3 (any S3-compatible server).

use std::{fmt, path::PathBuf, sync::Arc};

use anyhow::Context as _;
use async_trait::async_trait;
use aws_sdk_s3::{error::ProvideErrorMetadata, primitives::ByteStream};
use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::config::{Config, StorageBackend};

/// `<sha256 hex>.<extension>`: the name of a stored object, derived from its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MediaKey(String);

impl MediaKey {
    pub fn for_bytes(bytes: &[u8], extension: &str) -> anyhow::Result<Self> {
        Self::parse(&format!(
            "{}.{extension}",
            hex::encode(Sha256::digest(bytes))
        ))
    }

    /// Accepts only `<64 hex>.<1-8 alphanumerics>`, so a key can never escape the store.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let (hash, extension) = text
            .split_once('.')
            .context("media key needs an extension")?;
        anyhow::ensure!(
            hash.len() == 64
                && hash
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "media key must start with a lowercase SHA-256 hex digest"
        );
        anyhow::ensure!(
            (1..=8).contains(&extension.len())
                && extension.bytes().all(|b| b.is_ascii_alphanumeric()),
            "media key extension must be 1-8 alphanumerics"
        );
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The SHA-256 of the object's bytes, in hex: the key without its extension.
    pub fn sha256(&self) -> &str {
        &self.0[..64]
    }

    /// `ab/cd/<key>`: fans objects out over directories.
    fn sharded(&self) -> String {
        format!("{}/{}/{}", &self.0[0..2], &self.0[2..4], self.0)
    }
}

impl fmt::Display for MediaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for MediaKey {
    type Error = anyhow::Error;
    fn try_from(value: String) -> anyhow::Result<Self> {
        Self::parse(&value)
    }
}

impl From<MediaKey> for String {
    fn from(key: MediaKey) -> String {
        key.0
    }
}

/// Where media bytes are kept. Writing the same bytes twice yields the same key and one object.
#[async_trait]
pub trait MediaStore: Send + Sync {
    async fn put(&self, bytes: Bytes, extension: &str) -> anyhow::Result<MediaKey>;
    async fn get(&self, key: &MediaKey) -> anyhow::Result<Bytes>;
    async fn exists(&self, key: &MediaKey) -> anyhow::Result<bool>;
    /// The object's length in bytes.
    async fn size(&self, key: &MediaKey) -> anyhow::Result<u64>;
    /// Up to `length` bytes from `offset`: large objects are read in pieces, never whole.
    async fn read_range(&self, key: &MediaKey, offset: u64, length: u64) -> anyhow::Result<Bytes>;
    /// Removes an object; removing one that is not there is not an error. Keys are content
    /// addresses, so callers delete only keys nothing else still refers to.
    async fn delete(&self, key: &MediaKey) -> anyhow::Result<()>;
    /// Proves the store is usable, for readiness.
    async fn check(&self) -> anyhow::Result<()>;
}

/// Builds the store the configuration names.
pub async fn from_config(config: &Config) -> anyhow::Result<Arc<dyn MediaStore>> {
    Ok(match config.storage.backend {
        StorageBackend::Local => Arc::new(LocalStore::new(config.media_dir())),
        StorageBackend::S3 => {
            Arc::new(S3Store::from_env(&config.storage.s3_bucket, &config.storage.s3_prefix).await)
        }
    })
}

/// Objects as files under a root directory, written atomically.
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    pub fn path_of(&self, key: &MediaKey) -> PathBuf {
        self.root.join(key.sharded())
    }
}

#[async_trait]
impl MediaStore for LocalStore {
    async fn put(&self, bytes: Bytes, extension: &str) -> anyhow::Result<MediaKey> {
        let key = MediaKey::for_bytes(&bytes, extension)?;
        let path = self.path_of(&key);
        if tokio::fs::try_exists(&path).await.unwrap_or(false) {
            return Ok(key);
        }
        let dir = path.parent().context("media path has no parent")?;
        tokio::fs::create_dir_all(dir)
            .await
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let temporary = dir.join(format!(".{}.{}", key, uuid::Uuid::new_v4()));
        tokio::fs::write(&temporary, &bytes).await?;
        tokio::fs::rename(&temporary, &path).await?;
        Ok(key)
    }

    async fn get(&self, key: &MediaKey) -> anyhow::Result<Bytes> {
        let path = self.path_of(key);
        Ok(tokio::fs::read(&path)
            .await
            .with_context(|| format!("media {key} not found"))?
            .into())
    }

    async fn exists(&self, key: &MediaKey) -> anyhow::Result<bool> {
        Ok(tokio::fs::try_exists(self.path_of(key)).await?)
    }

    async fn size(&self, key: &MediaKey) -> anyhow::Result<u64> {
        Ok(tokio::fs::metadata(self.path_of(key))
            .await
            .with_context(|| format!("media {key} not found"))?
            .len())
    }

    async fn read_range(&self, key: &MediaKey, offset: u64, length: u64) -> anyhow::Result<Bytes> {
        use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};
        let mut file = tokio::fs::File::open(self.path_of(key))
            .await
            .with_context(|| format!("media {key} not found"))?;
        file.seek(std::io::SeekFrom::Start(offset)).await?;
        let mut buffer = Vec::with_capacity(usize::try_from(length)?);
        file.take(length).read_to_end(&mut buffer).await?;
        Ok(buffer.into())
    }

    async fn delete(&self, key: &MediaKey) -> anyhow::Result<()> {
        match tokio::fs::remove_file(self.path_of(key)).await {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                Err(error).with_context(|| format!("cannot delete media {key}"))
            }
            _ => Ok(()),
        }
    }

    async fn check(&self) -> anyhow::Result<()> {
        tokio::fs::create_dir_all(&self.root).await?;
        let probe = self.root.join(format!(".ready-{}", uuid::Uuid::new_v4()));
        tokio::fs::write(&probe, b"ok")
            .await
            .with_context(|| format!("{} is not writable", self.root.display()))?;
        tokio::fs::remove_file(&probe).await?;
        Ok(())
    }
}

/// Objects in an S3 bucket, configured from the usual AWS environment (`AWS_ENDPOINT_URL`, keys, region).
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
}

impl S3Store {
    pub async fn from_env(bucket: &str, prefix: &str) -> Self {
        let shared = aws_config::load_from_env().await;
        // Path-style addressing works with MinIO and other S3-compatible servers as well as AWS.
        let config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(true)
            .build();
        Self::new(aws_sdk_s3::Client::from_conf(config), bucket, prefix)
    }

    pub fn new(client: aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Self {
        Self {
            client,
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        }
    }

    fn object_key(&self, key: &MediaKey) -> String {
        if self.prefix.is_empty() {
            key.sharded()
        } else {
            format!("{}/{}", self.prefix.trim_end_matches('/'), key.sharded())
        }
    }
}

#[async_trait]
impl MediaStore for S3Store {
    async fn put(&self, bytes: Bytes, extension: &str) -> anyhow::Result<MediaKey> {
        let key = MediaKey::for_bytes(&bytes, extension)?;
        if self.exists(&key).await? {
            return Ok(key);
        }
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.object_key(&key))
            .body(ByteStream::from(bytes))
            .send()
            .await
            .with_context(|| format!("S3 put of {key} failed"))?;
        Ok(key)
    }

    async fn get(&self, key: &MediaKey) -> anyhow::Result<Bytes> {
        let object = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .send()
            .await
            .with_context(|| format!("media {key} not found"))?;
        Ok(object.body.collect().await?.into_bytes())
    }

    async fn exists(&self, key: &MediaKey) -> anyhow::Result<bool> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(false),
            Err(error) => Err(anyhow::anyhow!(
                "S3 head of {key} failed: {}",
                error.code().unwrap_or("unknown")
            )),
        }
    }

    async fn size(&self, key: &MediaKey) -> anyhow::Result<u64> {
        let head = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .send()
            .await
            .with_context(|| format!("media {key} not found"))?;
        Ok(u64::try_from(head.content_length().unwrap_or_default())?)
    }

    async fn read_range(&self, key: &MediaKey, offset: u64, length: u64) -> anyhow::Result<Bytes> {
        if length == 0 {
            return Ok(Bytes::new());
        }
        let object = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .range(format!("bytes={offset}-{}", offset + length - 1))
            .send()
            .await
            .with_context(|| format!("media {key} not found"))?;
        Ok(object.body.collect().await?.into_bytes())
    }

    async fn delete(&self, key: &MediaKey) -> anyhow::Result<()> {
        // S3 answers a delete of a missing object with success too.
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                anyhow::anyhow!(
                    "S3 delete of {key} failed: {}",
                    e.code().unwrap_or("unknown")
                )
            })
    }

    async fn check(&self) -> anyhow::Result<()> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                anyhow::anyhow!(
                    "bucket {} is not reachable: {}",
                    self.bucket,
                    e.code().unwrap_or("no response")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_refuse_path_traversal() {
        assert!(MediaKey::parse("../../etc/passwd").is_err());
        assert!(MediaKey::parse(&format!("{}.mp4/..", "a".repeat(64))).is_err());
        assert!(MediaKey::parse(&format!("{}.mp4", "a".repeat(64))).is_ok());
    }

    #[test]
    fn a_key_names_the_digest_of_its_bytes() -> anyhow::Result<()> {
        let key = MediaKey::for_bytes(b"frame", "png")?;
        assert_eq!(key.sha256(), hex::encode(Sha256::digest(b"frame")));
        Ok(())
    }

    #[tokio::test]
    async fn local_store_is_content_addressed() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let store = LocalStore::new(dir.path().to_path_buf());
        store.check().await?;
        let a = store.put(Bytes::from_static(b"frame"), "png").await?;
        let b = store.put(Bytes::from_static(b"frame"), "png").await?;
        assert_eq!(a, b);
        assert_eq!(a, MediaKey::for_bytes(b"frame", "png")?);
        assert_eq!(store.get(&a).await?, Bytes::from_static(b"frame"));
        assert!(!store.exists(&MediaKey::for_bytes(b"other", "png")?).await?);
        assert_eq!(store.size(&a).await?, 5);
        assert_eq!(
            store.read_range(&a, 1, 3).await?,
            Bytes::from_static(b"ram")
        );
        assert_eq!(
            store.read_range(&a, 3, 10).await?,
            Bytes::from_static(b"me")
        );
        store.delete(&a).await?;
        assert!(!store.exists(&a).await?);
        store.delete(&a).await?;
        Ok(())
    }
}
