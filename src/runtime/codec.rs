//! Payload encryption: AES-256-GCM over whole payloads, keys by id, rotation by key list.
//!
//! An encrypted payload has metadata `encoding: binary/encrypted` and `encryption-key-id: ID`
//! (the key's secret name), and data `nonce (12 bytes) ‖ ciphertext ‖ tag` of the original
//! payload serialised as a protobuf `Payload` — metadata included, so decrypting gives back
//! exactly what was encrypted (the layout of Temporal's encryption samples). Nonces are random:
//! a key may encrypt 2³² payloads before nonce reuse becomes a concern, so rotate keys
//! (`encryption: { key: NEW, decrypt_with: [OLD] }`) long before that.
//!
//! Keys are secrets (`stave.yaml` `secrets:`): 32 bytes, written as base64 (44 characters,
//! `openssl rand -base64 32`) or hex (64 characters).

use std::collections::BTreeMap;
use std::fmt;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use prost::Message as _;
use temporalio_common::protos::temporal::api::common::v1::Payload;
use thiserror::Error;

use super::secrets::{SecretError, Secrets};
use crate::ir::Encryption;

/// Temporal's metadata key of a payload's encoding (`payload::ENCODING_KEY`; the codec sits
/// below `payload`, which uses it).
const ENCODING_KEY: &str = "encoding";
/// Encoding of an encrypted payload.
pub const ENCRYPTED: &str = "binary/encrypted";
/// Metadata key naming the key that encrypted a payload.
pub const KEY_ID: &str = "encryption-key-id";
const NONCE_LEN: usize = 12;

/// Why the codec cannot be set up, or a payload cannot be decrypted.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CodecError {
    #[error("encryption key `{id}`: {source}")]
    Secret {
        id: String,
        #[source]
        source: SecretError,
    },
    #[error(
        "encryption key `{id}` is not 32 bytes in base64 or hex: create one with `openssl rand -base64 32`"
    )]
    BadKey { id: String },
    #[error(
        "the payload was encrypted with key `{0}`, which this process does not have: add it to `encryption: {{ decrypt_with: [...] }}` in stave.yaml"
    )]
    UnknownKey(String),
    #[error(
        "the payload is encrypted (key `{0}`) and this command has no keys: run it in the project directory (or pass --project), whose stave.yaml has `encryption:`"
    )]
    NoCodec(String),
    #[error(
        "the payload with key `{0}` does not decrypt: it was altered, or the key with that id changed"
    )]
    Tampered(String),
    #[error("an encrypted payload is malformed: {0}")]
    Malformed(String),
}

/// A payload codec: encrypts with one key, decrypts with any it knows.
#[derive(Clone)]
pub struct Codec {
    write: String,
    keys: BTreeMap<String, Aes256Gcm>,
}

impl fmt::Debug for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Codec")
            .field("write", &self.write)
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Codec {
    /// The codec `settings` describe, its keys read from `secrets`.
    pub fn from_settings(settings: &Encryption, secrets: &Secrets) -> Result<Codec, CodecError> {
        let mut keys = BTreeMap::new();
        for id in std::iter::once(&settings.key).chain(&settings.decrypt_with) {
            let text = secrets.get(id).map_err(|source| CodecError::Secret {
                id: id.clone(),
                source,
            })?;
            keys.insert(id.clone(), parse_key(id, &text)?);
        }
        Ok(Codec {
            write: settings.key.clone(),
            keys,
        })
    }

    /// A codec from raw keys (id, 32 bytes); the first one writes.
    pub fn from_keys(keys: &[(&str, [u8; 32])]) -> Codec {
        Codec {
            write: keys
                .first()
                .map(|(id, _)| id.to_string())
                .unwrap_or_default(),
            keys: keys
                .iter()
                .map(|(id, key)| {
                    (
                        id.to_string(),
                        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)),
                    )
                })
                .collect(),
        }
    }

    /// The id of the key new payloads are encrypted with.
    pub fn write_key(&self) -> &str {
        &self.write
    }

    /// `payload` encrypted with the write key.
    pub fn encode(&self, payload: &Payload) -> Payload {
        let Some(cipher) = self.keys.get(&self.write) else {
            return payload.clone();
        };
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let plain = payload.encode_to_vec();
        // Encryption fails only for inputs beyond 64 GiB, which no payload reaches.
        let sealed = cipher.encrypt(&nonce, plain.as_slice()).unwrap_or_default();
        let mut data = Vec::with_capacity(NONCE_LEN + sealed.len());
        data.extend_from_slice(&nonce);
        data.extend_from_slice(&sealed);
        let mut out = Payload {
            data,
            ..Default::default()
        };
        out.metadata
            .insert(ENCODING_KEY.to_string(), ENCRYPTED.as_bytes().to_vec());
        out.metadata
            .insert(KEY_ID.to_string(), self.write.as_bytes().to_vec());
        out
    }

    /// The payload `payload` encrypts; a payload that is not encrypted is returned as is.
    pub fn decode(&self, payload: &Payload) -> Result<Payload, CodecError> {
        let Some(id) = encrypted_with(payload)? else {
            return Ok(payload.clone());
        };
        let cipher = self
            .keys
            .get(&id)
            .ok_or_else(|| CodecError::UnknownKey(id.clone()))?;
        if payload.data.len() < NONCE_LEN {
            return Err(CodecError::Malformed("shorter than its nonce".into()));
        }
        let (nonce, sealed) = payload.data.split_at(NONCE_LEN);
        let plain = cipher
            .decrypt(Nonce::from_slice(nonce), sealed)
            .map_err(|_| CodecError::Tampered(id.clone()))?;
        Payload::decode(plain.as_slice()).map_err(|e| CodecError::Malformed(e.to_string()))
    }
}

/// The key id of an encrypted payload; `None` when it is not encrypted.
pub fn encrypted_with(payload: &Payload) -> Result<Option<String>, CodecError> {
    if payload.metadata.get(ENCODING_KEY).map(Vec::as_slice) != Some(ENCRYPTED.as_bytes()) {
        return Ok(None);
    }
    match payload.metadata.get(KEY_ID) {
        Some(id) => Ok(Some(String::from_utf8_lossy(id).into_owned())),
        None => Err(CodecError::Malformed(format!("no `{KEY_ID}` metadata"))),
    }
}

fn parse_key(id: &str, text: &str) -> Result<Aes256Gcm, CodecError> {
    let text = text.trim();
    let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        (0..32)
            .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .ok()
    } else {
        base64::engine::general_purpose::STANDARD.decode(text).ok()
    };
    match bytes {
        Some(bytes) if bytes.len() == 32 => {
            Ok(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes)))
        }
        _ => Err(CodecError::BadKey { id: id.to_string() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::payload;
    use crate::runtime::secrets::SecretProvider;
    use serde_json::json;

    struct Fixed(Vec<(&'static str, &'static str)>);

    impl SecretProvider for Fixed {
        fn get(&self, name: &str) -> Result<Option<String>, SecretError> {
            Ok(self
                .0
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string()))
        }
        fn describe(&self, name: &str) -> String {
            format!("the test's table ({name})")
        }
    }

    const OLD: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const NEW: &str = "1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

    fn codec(key: &str, decrypt_with: &[&str]) -> Codec {
        let secrets = Secrets::default().with(Fixed(vec![("keys/old", OLD), ("keys/new", NEW)]));
        let settings = Encryption {
            key: key.into(),
            decrypt_with: decrypt_with.iter().map(|s| s.to_string()).collect(),
        };
        Codec::from_settings(&settings, &secrets).expect("codec")
    }

    #[test]
    fn payloads_round_trip_as_ciphertext_with_their_metadata() {
        let codec = codec("keys/old", &[]);
        let plain = payload::encode_plain(&json!({"card": "4242 4242 4242 4242"}));
        let sealed = codec.encode(&plain);
        assert_eq!(sealed.metadata[ENCODING_KEY], ENCRYPTED.as_bytes());
        assert_eq!(sealed.metadata[KEY_ID], b"keys/old");
        assert!(!String::from_utf8_lossy(&sealed.data).contains("4242"));
        assert_eq!(codec.decode(&sealed), Ok(plain.clone()));
        // Fresh nonces: the same payload never encrypts to the same bytes twice.
        assert_ne!(codec.encode(&plain).data, sealed.data);
        // Plain payloads (runs started before encryption was on) pass through.
        assert_eq!(codec.decode(&plain), Ok(plain));
    }

    #[test]
    fn rotation_writes_with_the_new_key_and_reads_the_old() {
        let before = codec("keys/old", &[]);
        let written_before = before.encode(&payload::encode_plain(&json!(1)));
        let after = codec("keys/new", &["keys/old"]);
        let written_after = after.encode(&payload::encode_plain(&json!(2)));
        assert_eq!(written_after.metadata[KEY_ID], b"keys/new");
        assert_eq!(
            after
                .decode(&written_before)
                .map(|p| payload::decode_plain(&p).ok()),
            Ok(Some(json!(1)))
        );
        // The old configuration cannot read what the new key wrote, and says what to add.
        let err = before.decode(&written_after).unwrap_err();
        assert_eq!(err, CodecError::UnknownKey("keys/new".into()));
        assert!(err.to_string().contains("decrypt_with"), "{err}");
    }

    #[test]
    fn tampering_and_bad_keys_are_errors_not_garbage() {
        let codec = codec("keys/old", &[]);
        let mut sealed = codec.encode(&payload::encode_plain(&json!("x")));
        let last = sealed.data.len() - 1;
        sealed.data[last] ^= 1;
        assert_eq!(
            codec.decode(&sealed),
            Err(CodecError::Tampered("keys/old".into()))
        );
        sealed.data.truncate(4);
        assert!(matches!(
            codec.decode(&sealed),
            Err(CodecError::Malformed(_))
        ));

        let secrets = Secrets::default().with(Fixed(vec![("k", "too-short")]));
        let settings = Encryption {
            key: "k".into(),
            decrypt_with: vec![],
        };
        let err = Codec::from_settings(&settings, &secrets).unwrap_err();
        assert_eq!(err, CodecError::BadKey { id: "k".into() });
        let missing = Encryption {
            key: "absent".into(),
            decrypt_with: vec![],
        };
        let err = Codec::from_settings(&missing, &secrets).unwrap_err();
        assert!(err.to_string().contains("absent"), "{err}");
    }

    #[test]
    fn debug_never_shows_key_material() {
        let shown = format!("{:?}", codec("keys/new", &["keys/old"]));
        assert!(
            shown.contains("keys/new") && !shown.contains(NEW),
            "{shown}"
        );
    }
}
