//! Secrets at rest: XChaCha20-Poly1305 sealing under a keyring whose keys are named by key ids, so a
//! key can be rotated while rows sealed under the previous one are still readable.
//!
//! A sealed value is `rf1 ‖ id length ‖ key id ‖ 24-byte nonce ‖ ciphertext and tag`. The caller
//! passes an associated context (the row's id, say) that must match when opening, so a ciphertext
//! copied onto another row does not open there.

use std::{fmt, fs};

use anyhow::Context as _;
use base64::Engine as _;
use chacha20poly1305::{
    aead::{Aead, KeyInit, Payload},
    XChaCha20Poly1305, XNonce,
};
use rand::RngCore as _;
use sha2::{Digest, Sha256};

use crate::config::{Config, Mode};

const MAGIC: &[u8] = b"rf1";
const NONCE_BYTES: usize = 24;

/// One 256-bit key and the id derived from it.
struct Key {
    id: String,
    cipher: XChaCha20Poly1305,
}

/// The keys this process seals and opens secrets with: the first seals, every one opens.
pub struct Keyring {
    keys: Vec<Key>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("Keyring").field("key_ids", &ids).finish()
    }
}

impl Keyring {
    /// The keyring `secrets_key` or `secrets_key_file` holds. In dev mode with neither set, a random
    /// key is generated once under `data_dir`; production never generates one.
    pub fn from_config(config: &Config) -> anyhow::Result<Keyring> {
        if let Some(keys) = &config.secrets_key {
            return Keyring::parse(keys.expose()).context("configuration key `secrets_key`");
        }
        if let Some(path) = &config.secrets_key_file {
            let text = fs::read_to_string(path)
                .with_context(|| format!("cannot read secrets_key_file {}", path.display()))?;
            return Keyring::parse(&text)
                .with_context(|| format!("secrets_key_file {}", path.display()));
        }
        anyhow::ensure!(
            config.mode == Mode::Dev,
            "no key to seal secrets with: set REELFORGE_SECRETS_KEY or REELFORGE_SECRETS_KEY_FILE \
             (production mode never generates one; `reelforge secrets generate` prints a new key)"
        );
        Keyring::parse(&crate::auth::dev_secret(
            &config.data_dir.join("secrets-key"),
        )?)
    }

    /// Keys separated by commas or whitespace, each 32 bytes in base64 or hex; the first seals.
    pub fn parse(text: &str) -> anyhow::Result<Keyring> {
        let mut keys = Vec::new();
        for (position, encoded) in text
            .split([',', '\n', ' ', '\t', '\r'])
            .filter(|k| !k.is_empty())
            .enumerate()
        {
            let bytes = decode_key(encoded).with_context(|| {
                format!("key {} is not 32 bytes in base64 or hex", position + 1)
            })?;
            keys.push(Key {
                id: key_id(&bytes),
                cipher: XChaCha20Poly1305::new_from_slice(&bytes)
                    .map_err(|_| anyhow::anyhow!("key {} has the wrong length", position + 1))?,
            });
        }
        anyhow::ensure!(!keys.is_empty(), "no key given");
        Ok(Keyring { keys })
    }

    /// A new random key, base64-encoded, for `reelforge secrets generate`.
    pub fn generate_key() -> String {
        let mut bytes = [0_u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// The id of the key new secrets are sealed with.
    pub fn sealing_key_id(&self) -> &str {
        &self.keys[0].id
    }

    /// `plaintext` sealed under the first key, bound to `context`.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> anyhow::Result<Vec<u8>> {
        let key = &self.keys[0];
        let mut nonce = [0_u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = key
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .map_err(|_| anyhow::anyhow!("sealing failed"))?;
        let id = key.id.as_bytes();
        let mut sealed =
            Vec::with_capacity(MAGIC.len() + 1 + id.len() + NONCE_BYTES + ciphertext.len());
        sealed.extend_from_slice(MAGIC);
        sealed.push(u8::try_from(id.len())?);
        sealed.extend_from_slice(id);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    /// The plaintext of `sealed`, which must have been sealed with `context` under a key held here.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> anyhow::Result<Vec<u8>> {
        let (id, nonce, ciphertext) = split(sealed)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == id)
            .with_context(|| format!("sealed under key {id}, which is not in the keyring"))?;
        key.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context,
                },
            )
            .map_err(|_| anyhow::anyhow!("sealed value does not open under key {id} (tampered, or sealed for another record)"))
    }

    /// The id of the key `sealed` was sealed with.
    pub fn key_id_of(sealed: &[u8]) -> anyhow::Result<&str> {
        split(sealed).map(|(id, _, _)| id)
    }
}

fn split(sealed: &[u8]) -> anyhow::Result<(&str, &[u8], &[u8])> {
    let rest = sealed
        .strip_prefix(MAGIC)
        .context("not a sealed value (unknown format)")?;
    let (&id_length, rest) = rest.split_first().context("sealed value is truncated")?;
    let id_length = usize::from(id_length);
    anyhow::ensure!(
        rest.len() > id_length + NONCE_BYTES,
        "sealed value is truncated"
    );
    let (id, rest) = rest.split_at(id_length);
    let (nonce, ciphertext) = rest.split_at(NONCE_BYTES);
    Ok((std::str::from_utf8(id)?, nonce, ciphertext))
}

fn decode_key(encoded: &str) -> anyhow::Result<Vec<u8>> {
    let bytes = if encoded.len() == 64 && encoded.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(encoded)?
    } else {
        base64::engine::general_purpose::STANDARD.decode(encoded)?
    };
    anyhow::ensure!(bytes.len() == 32, "{} bytes", bytes.len());
    Ok(bytes)
}

/// A key's public name: the first 12 hex digits of its SHA-256, so the same key has the same id
/// everywhere without anyone naming it.
fn key_id(key: &[u8]) -> String {
    hex::encode(Sha256::digest(key))[..12].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_context_and_hides_its_plaintext() -> anyhow::Result<()> {
        let keyring = Keyring::parse(&Keyring::generate_key())?;
        let sealed = keyring.seal(b"refresh-token-123", b"account-1")?;
        assert!(!sealed.windows(9).any(|w| w == b"refresh-t"));
        assert_eq!(keyring.open(&sealed, b"account-1")?, b"refresh-token-123");
        assert!(keyring.open(&sealed, b"account-2").is_err());
        let mut tampered = sealed.clone();
        if let Some(last) = tampered.last_mut() {
            *last ^= 1;
        }
        assert!(keyring.open(&tampered, b"account-1").is_err());
        // The same plaintext seals differently each time (random nonces).
        assert_ne!(keyring.seal(b"refresh-token-123", b"account-1")?, sealed);
        Ok(())
    }

    #[test]
    fn a_rotated_keyring_opens_old_values_and_seals_under_the_new_key() -> anyhow::Result<()> {
        let (old, new) = (Keyring::generate_key(), Keyring::generate_key());
        let before = Keyring::parse(&old)?;
        let sealed = before.seal(b"token", b"row")?;
        let after = Keyring::parse(&format!("{new},{old}"))?;
        assert_eq!(after.open(&sealed, b"row")?, b"token");
        assert_eq!(Keyring::key_id_of(&sealed)?, before.sealing_key_id());
        let resealed = after.seal(b"token", b"row")?;
        assert_eq!(Keyring::key_id_of(&resealed)?, after.sealing_key_id());
        assert_ne!(after.sealing_key_id(), before.sealing_key_id());
        // Once the old key is dropped, values still sealed under it say so.
        let error = Keyring::parse(&new)?
            .open(&sealed, b"row")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains(before.sealing_key_id()), "{error}");
        Ok(())
    }

    #[test]
    fn bad_keys_are_refused_by_position_without_printing_them() {
        let error = Keyring::parse(&format!("{},c2hvcnQ=", Keyring::generate_key()))
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(error.contains("key 2"), "{error}");
        assert!(!error.contains("c2hvcnQ"), "{error}");
        assert!(Keyring::parse(" , ").is_err());
        assert!(Keyring::parse(&"ab".repeat(32)).is_ok());
    }
}
