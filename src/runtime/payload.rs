//! JSON ⇄ Temporal `Payload` with `encoding: json/plain`, the encoding Temporal's UI and CLI show readably.
//!
//! When the process has a codec (`install`, from `stave.yaml` `encryption:`), every payload
//! [`encode`] writes is encrypted and every payload [`decode`] reads is decrypted first; the
//! codec is process-wide because a Stave process serves one project. Search attributes are
//! the one exception: the server must read them, so they use [`encode_plain`].

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use super::codec::{Codec, CodecError};

use serde_json::Value as Json;
use temporalio_common::protos::temporal::api::common::v1::{Payload, Payloads};
use thiserror::Error;

/// Metadata key of a payload's encoding.
pub const ENCODING_KEY: &str = "encoding";
/// The encoding Stave writes and prefers to read.
pub const JSON_PLAIN: &str = "json/plain";
/// A protobuf message as JSON (how SDKs send the built-in metadata query's answer).
pub const JSON_PROTOBUF: &str = "json/protobuf";
/// Encoding of an absent value (Temporal SDKs write it for `None`/`null`).
pub const BINARY_NULL: &str = "binary/null";

/// A payload Stave cannot read as JSON.
#[derive(Debug, Error)]
pub enum PayloadError {
    /// A payload written by another SDK with an encoding Stave does not read, e.g.
    /// `binary/protobuf`. Fix: send JSON (`json/plain`) from the caller.
    #[error("payload encoding `{0}` is not supported: send JSON (`json/plain`)")]
    UnsupportedEncoding(String),
    /// A `json/plain` payload whose bytes are not JSON.
    #[error("payload is not valid JSON: {0}")]
    InvalidJson(#[from] serde_json::Error),
    /// An encrypted payload this process cannot decrypt.
    #[error("{0}")]
    Codec(#[from] CodecError),
}

static CODEC: OnceLock<Codec> = OnceLock::new();

/// Makes `codec` encrypt and decrypt every payload of this process from now on. A process has
/// one codec: installing a second, different one is refused (`Err` gives it back).
pub fn install(codec: Codec) -> Result<(), Codec> {
    CODEC.set(codec)
}

/// The process's codec, if one is installed.
pub fn codec() -> Option<&'static Codec> {
    CODEC.get()
}

/// `payload` as this process writes it: encrypted when a codec is installed.
pub fn seal(payload: Payload) -> Payload {
    match CODEC.get() {
        Some(codec) => codec.encode(&payload),
        None => payload,
    }
}

/// `payload` decrypted, when it is encrypted.
pub fn open(payload: &Payload) -> Result<Cow<'_, Payload>, PayloadError> {
    match super::codec::encrypted_with(payload)? {
        None => Ok(Cow::Borrowed(payload)),
        Some(id) => match CODEC.get() {
            Some(codec) => Ok(Cow::Owned(codec.decode(payload)?)),
            None => Err(CodecError::NoCodec(id).into()),
        },
    }
}

/// One JSON value as a payload, encrypted when the process has a codec.
pub fn encode(value: &Json) -> Payload {
    seal(encode_plain(value))
}

/// A protobuf message in its JSON form, as Temporal SDKs send one (`json/protobuf` with its
/// `messageType`), encrypted when the process has a codec.
pub fn encode_message(value: &Json, message_type: &str) -> Payload {
    let mut payload = encode_plain(value);
    payload
        .metadata
        .insert(ENCODING_KEY.to_string(), JSON_PROTOBUF.as_bytes().to_vec());
    payload
        .metadata
        .insert("messageType".to_string(), message_type.as_bytes().to_vec());
    seal(payload)
}

/// One JSON value as a `json/plain` payload, never encrypted (search attributes).
pub fn encode_plain(value: &Json) -> Payload {
    let mut metadata = HashMap::with_capacity(1);
    metadata.insert(ENCODING_KEY.to_string(), JSON_PLAIN.as_bytes().to_vec());
    Payload {
        metadata,
        // Serialising a `serde_json::Value` cannot fail: its map keys are strings.
        data: serde_json::to_vec(value).unwrap_or_default(),
        ..Default::default()
    }
}

/// Several JSON values as payloads (positional arguments).
pub fn encode_all<'a>(values: impl IntoIterator<Item = &'a Json>) -> Vec<Payload> {
    values.into_iter().map(encode).collect()
}

/// `Payloads` (the wrapper of failure details and of server-side requests: start input,
/// signal and query arguments) of several values.
pub fn encode_payloads<'a>(values: impl IntoIterator<Item = &'a Json>) -> Payloads {
    Payloads {
        payloads: encode_all(values),
    }
}

/// A payload as JSON. `binary/null` and an empty payload are `null`; a payload without an
/// encoding is read as JSON when it parses (some clients omit the metadata); `binary/plain`
/// holding UTF-8 JSON is accepted for the same reason.
pub fn decode(payload: &Payload) -> Result<Json, PayloadError> {
    decode_plain(open(payload)?.as_ref())
}

/// A payload that is not encrypted as JSON (see [`decode`]).
pub fn decode_plain(payload: &Payload) -> Result<Json, PayloadError> {
    let encoding = payload
        .metadata
        .get(ENCODING_KEY)
        .map(|e| String::from_utf8_lossy(e).into_owned());
    match encoding.as_deref() {
        Some(BINARY_NULL) => Ok(Json::Null),
        _ if payload.data.is_empty() => Ok(Json::Null),
        Some(JSON_PLAIN | JSON_PROTOBUF) | None => Ok(serde_json::from_slice(&payload.data)?),
        Some("binary/plain") => serde_json::from_slice(&payload.data)
            .map_err(|_| PayloadError::UnsupportedEncoding("binary/plain".into())),
        Some(other) => Err(PayloadError::UnsupportedEncoding(other.to_string())),
    }
}

/// A list of payloads as one JSON value: none → `null`, one → that value, several → a list.
/// This is how workflow input, signal arguments and query arguments reach expressions.
pub fn decode_args(payloads: &[Payload]) -> Result<Json, PayloadError> {
    match payloads {
        [] => Ok(Json::Null),
        [one] => decode(one),
        many => many
            .iter()
            .map(decode)
            .collect::<Result<Vec<_>, _>>()
            .map(Json::Array),
    }
}

/// An optional payload as JSON (`None` → `null`).
pub fn decode_opt(payload: Option<&Payload>) -> Result<Json, PayloadError> {
    payload.map_or(Ok(Json::Null), decode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_json_with_json_plain_encoding() {
        let value = json!({"a": [1, 2.5, "x", null, true]});
        let payload = encode(&value);
        assert_eq!(payload.metadata[ENCODING_KEY], b"json/plain");
        assert_eq!(decode(&payload).ok(), Some(value));
    }

    #[test]
    fn decodes_args_as_null_value_or_list() {
        assert_eq!(decode_args(&[]).ok(), Some(Json::Null));
        assert_eq!(decode_args(&[encode(&json!(1))]).ok(), Some(json!(1)));
        let two = encode_all([&json!(1), &json!("b")]);
        assert_eq!(decode_args(&two).ok(), Some(json!([1, "b"])));
    }

    #[test]
    fn rejects_foreign_encodings_by_name() {
        let mut payload = encode(&json!(1));
        payload
            .metadata
            .insert(ENCODING_KEY.into(), b"binary/protobuf".to_vec());
        let err = decode(&payload).err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("payload encoding `binary/protobuf` is not supported: send JSON (`json/plain`)")
        );
    }

    #[test]
    fn binary_null_is_null() {
        let mut payload = encode(&json!(1));
        payload
            .metadata
            .insert(ENCODING_KEY.into(), BINARY_NULL.as_bytes().to_vec());
        assert_eq!(decode(&payload).ok(), Some(Json::Null));
    }
}
