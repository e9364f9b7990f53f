//! Uploaded images: the [`MediaStore`] port and its local-disk adapter (files under
//! `<data dir>/media/<store id>/`, served at `/media/<store id>/<file>`). Types are decided by
//! the file's first bytes, never by its name or the client's word; names are generated.

use std::path::PathBuf;

use anyhow::Context;
use async_trait::async_trait;
use techverse_shared::StoreId;

/// Largest image accepted.
pub const MAX_IMAGE_BYTES: usize = 5 * 1024 * 1024;

/// Image types accepted for upload, recognised by their signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Png,
    Jpeg,
    Gif,
    Webp,
}

impl ImageKind {
    /// Recognises the type from the first bytes.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            Some(Self::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(Self::Gif)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Self::Webp)
        } else {
            None
        }
    }

    pub const fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpg",
            Self::Gif => "gif",
            Self::Webp => "webp",
        }
    }

    pub const fn content_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Gif => "image/gif",
            Self::Webp => "image/webp",
        }
    }
}

/// The content type served for a stored file name, if it is one this store writes.
/// (`svg` only comes from the demo seed, which generates it; uploads never store SVG.)
pub fn served_type(file: &str) -> Option<&'static str> {
    let (stem, extension) = file.rsplit_once('.')?;
    let stem_ok = !stem.is_empty()
        && stem.len() <= 80
        && stem.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !stem_ok {
        return None;
    }
    Some(match extension {
        "png" => "image/png",
        "jpg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        _ => return None,
    })
}

#[async_trait]
pub trait MediaStore: Send + Sync {
    /// Stores `bytes` under a generated name and returns its public URL path.
    async fn put(&self, store: StoreId, name: &str, bytes: Vec<u8>) -> anyhow::Result<String>;
    /// The bytes of a stored file, if present.
    async fn get(&self, store: StoreId, name: &str) -> anyhow::Result<Option<Vec<u8>>>;
}

pub struct LocalMedia {
    root: PathBuf,
}

impl LocalMedia {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }
}

#[async_trait]
impl MediaStore for LocalMedia {
    async fn put(&self, store: StoreId, name: &str, bytes: Vec<u8>) -> anyhow::Result<String> {
        anyhow::ensure!(served_type(name).is_some(), "not a media file name: {name}");
        let dir = self.root.join(store.to_string());
        let path = dir.join(name);
        let temporary = dir.join(format!(".{name}.tmp"));
        tokio::fs::create_dir_all(&dir)
            .await
            .with_context(|| format!("creating {}", dir.display()))?;
        tokio::fs::write(&temporary, bytes)
            .await
            .context("writing media")?;
        tokio::fs::rename(&temporary, &path)
            .await
            .context("placing media")?;
        Ok(format!("/media/{store}/{name}"))
    }

    async fn get(&self, store: StoreId, name: &str) -> anyhow::Result<Option<Vec<u8>>> {
        if served_type(name).is_none() {
            return Ok(None);
        }
        match tokio::fs::read(self.root.join(store.to_string()).join(name)).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_signatures() {
        assert_eq!(
            ImageKind::sniff(b"\x89PNG\r\n\x1a\n...."),
            Some(ImageKind::Png)
        );
        assert_eq!(
            ImageKind::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(ImageKind::Jpeg)
        );
        assert_eq!(ImageKind::sniff(b"GIF89a...."), Some(ImageKind::Gif));
        assert_eq!(
            ImageKind::sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(ImageKind::Webp)
        );
        assert_eq!(ImageKind::sniff(b"<svg onload=alert(1)>"), None);
        assert_eq!(ImageKind::sniff(b"<?php echo 1;"), None);
    }

    #[test]
    fn only_generated_names_are_served() {
        assert_eq!(served_type("0190a1b2-c3d4.png"), Some("image/png"));
        assert_eq!(served_type("../etc/passwd"), None);
        assert_eq!(served_type("a/b.png"), None);
        assert_eq!(served_type("x.html"), None);
        assert_eq!(served_type(".png"), None);
    }
}
