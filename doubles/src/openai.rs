//! A stand-in for an OpenAI-compatible embeddings API (`POST /v1/embeddings`), following the
//! published contract: bearer auth, `input` as a string or a list, optional `dimensions`, answers
//! `{"object": "list", "data": [{"object": "embedding", "index", "embedding"}], "model", "usage"}`,
//! errors as `{"error": {"message", "type", "code"}}`. The real `OpenAiEmbedder` talks to it in
//! tests, and `bartleby-doubles openai` lets you try `OPENAI_BASE_URL` on your machine.
//!
//! Its vectors are not a language model's: each word (lower-cased, and its 4-letter prefix) is
//! hashed to a signed position, so texts that share words are near each other. Enough for tests of
//! the plumbing and of word-level retrieval; it knows nothing of meaning.

use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

#[derive(Clone)]
pub struct OpenAiDouble {
    api_key: String,
    /// When non-zero, every call answers this status with a JSON error.
    pub fail_with: Arc<AtomicU16>,
    /// How many embeddings calls were answered.
    pub calls: Arc<AtomicUsize>,
}

const DEFAULT_DIMENSIONS: usize = 1536;
/// The API refuses more inputs than this in one call.
const MAX_INPUTS: usize = 2048;

impl OpenAiDouble {
    pub fn new(api_key: impl Into<String>) -> Self {
        Self { api_key: api_key.into(), fail_with: Arc::default(), calls: Arc::default() }
    }

    /// Routes under `/v1`, as `OPENAI_BASE_URL=http://host:port/v1` expects.
    pub fn router(&self) -> Router {
        Router::new().route("/v1/embeddings", post(embeddings)).with_state(self.clone())
    }
}

fn error(status: StatusCode, kind: &str, code: &str, message: &str) -> Response {
    (status, Json(json!({ "error": { "message": message, "type": kind, "code": code, "param": null } })))
        .into_response()
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// A deterministic unit vector from the words of `text`.
pub fn embed_text(text: &str, dims: usize) -> Vec<f32> {
    let mut v = vec![0f32; dims];
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        let w = word.to_lowercase();
        let prefix: String = w.chars().take(4).collect();
        for (token, weight) in [(w.as_str(), 1.0f32), (prefix.as_str(), 0.5)] {
            let h = fnv(token);
            let i = (h % dims as u64) as usize;
            v[i] += if h >> 63 == 0 { weight } else { -weight };
        }
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    } else {
        v[0] = 1.0;
    }
    v
}

async fn embeddings(State(d): State<OpenAiDouble>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let fail = d.fail_with.load(Ordering::Relaxed);
    if fail != 0 {
        let status = StatusCode::from_u16(fail).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return error(status, "server_error", "server_error", "The server had an error while processing your request.");
    }
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    if auth.strip_prefix("Bearer ") != Some(d.api_key.as_str()) {
        return error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "invalid_api_key",
            "Incorrect API key provided.",
        );
    }
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "invalid_json",
            "We could not parse the JSON body of your request.",
        );
    };
    let Some(model) = req["model"].as_str() else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "missing_model",
            "you must provide a model parameter",
        );
    };
    let inputs: Vec<String> = match &req["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) if a.iter().all(Value::is_string) => {
            a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()
        }
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                "invalid_input",
                "'input' must be a string or an array of strings",
            )
        }
    };
    if inputs.is_empty() || inputs.len() > MAX_INPUTS || inputs.iter().any(String::is_empty) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "invalid_input",
            "'input' must be non-empty strings, at most 2048 of them",
        );
    }
    let dims = req["dimensions"].as_u64().map(|d| d as usize).unwrap_or(DEFAULT_DIMENSIONS);
    if dims == 0 || dims > 3072 {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "invalid_dimensions",
            "'dimensions' must be between 1 and 3072",
        );
    }
    d.calls.fetch_add(1, Ordering::Relaxed);
    let tokens: usize = inputs.iter().map(|s| s.split_whitespace().count()).sum();
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, s)| json!({ "object": "embedding", "index": i, "embedding": embed_text(s, dims) }))
        .collect();
    Json(json!({ "object": "list", "data": data, "model": model, "usage": { "prompt_tokens": tokens, "total_tokens": tokens } }))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_words_are_near_and_vectors_are_unit_length() {
        let a = embed_text("the boiler warranty", 64);
        let b = embed_text("Boiler warranty terms", 64);
        let c = embed_text("tomato seedlings", 64);
        let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>();
        assert!((dot(&a, &a) - 1.0).abs() < 1e-5);
        assert!(dot(&a, &b) > dot(&a, &c));
    }
}
