//! `bartleby-bench documents` (and `retrieval`, at the end): the figures of the documents issue, printed.
//!
//! 1. Ingest: the texts under /usr/share/common-licenses (real English prose), uploaded as
//!    documents and run through the job queue with the configured embedder: documents/s,
//!    passages embedded/s; a 100-page text PDF from upload to searchable; and `pdftotext`
//!    pages/s on any PDFs under /usr/share/doc.
//! 2. Search at scale: N passages (default 100,000) for one account plus 30,000 for a second,
//!    with synthetic vectors made to cluster like real ones (see [`Topic`]) and text drawn from
//!    per-topic vocabularies; HNSW build time; recall@10 of the search's nearest-passage query
//!    against an exact scan, for both accounts; where one search's time goes; then `/api/search`
//!    end to end over HTTP (query embedding included) at 1 and 16 concurrent clients, p50/p95.
//! 3. The process's peak RSS.
//!
//! It runs in a database of its own (`bartleby_bench`, recreated each run).

use std::time::Instant;

use anyhow::{Context, Result};

use crate::common::{exec, make_user, peak_rss_mb, percentile, run_clients, set_password, signed_in};
use app::platform::AppState;
use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;

/// A small, fast, deterministic random generator (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
}

pub async fn documents(state: AppState, passages: usize) -> Result<()> {
    println!(
        "Bartleby documents benchmark ({} cores)",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    );
    match &state.embedder {
        Some(e) => println!("embedder: {} ({} dimensions)", e.model_id(), e.dimensions()),
        None => anyhow::bail!("no embedding model: run scripts/setup.sh (or set EMBEDDING_MODEL_DIR)"),
    }
    ingest(&state).await?;
    hundred_page_pdf(&state).await?;
    pdf_pages(&state).await;
    search(&state, passages).await?;
    println!("peak RSS of this process (server code, model, benchmark): {:.0} MB", peak_rss_mb());
    Ok(())
}

/// Adds a file as the upload handler does: spooled to the uploads' temporary directory, then
/// stored and queued by the documents service.
async fn upload(state: &AppState, user: i64, name: &str, data: &[u8]) -> Result<app::documents::service::Added> {
    use app::documents::service::{add, SpooledFile};
    use sha2::Digest;
    let tmp = state.config.dirs.uploads.join("tmp");
    tokio::fs::create_dir_all(&tmp).await?;
    let spool = tmp.join(format!("bench-{:016x}.upload", rand::random::<u64>()));
    tokio::fs::write(&spool, data).await?;
    let sha256 = format!("{:x}", sha2::Sha256::digest(data));
    let file = SpooledFile { path: spool, bytes: data.len() as u64, sha256, file_name: name.to_owned() };
    add(state, user, file).await.map_err(|e| anyhow::anyhow!("{e}"))
}

async fn ingest(state: &AppState) -> Result<()> {
    use app::documents::service::Added;
    let user = make_user(state, &format!("ingest-{}@bench.invalid", std::process::id())).await?;
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir("/usr/share/common-licenses")
        .context("/usr/share/common-licenses")?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let mut bytes = 0u64;
    let mut added = 0;
    for f in &files {
        let data = tokio::fs::read(f).await?;
        bytes += data.len() as u64;
        let name = format!("{}.txt", f.file_name().unwrap_or_default().to_string_lossy());
        if let Added::New(_) = upload(state, user, &name, &data).await? {
            added += 1;
        }
    }
    let started = Instant::now();
    app::jobs::drain(state, "bench").await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let took = started.elapsed().as_secs_f64();
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut c = state.db.get().await?;
    let n: N = diesel::sql_query("SELECT count(*) AS n FROM document_chunks WHERE user_id = $1")
        .bind::<BigInt, _>(user)
        .get_result(&mut c)
        .await?;
    println!(
        "ingest: {added} text documents, {:.0} KB, {} passages in {took:.1} s: {:.1} documents/s, {:.1} passages embedded/s",
        bytes as f64 / 1024.0,
        n.n,
        added as f64 / took,
        n.n as f64 / took
    );
    Ok(())
}

/// A 100-page text PDF (the openings of bench/retrieval's addresses, printed in Times 11, 45 lines
/// a page) from upload to searchable: stored, read, cut into passages and embedded by the job queue.
async fn hundred_page_pdf(state: &AppState) -> Result<()> {
    let mut words: Vec<String> = Vec::new();
    let mut files: Vec<std::path::PathBuf> =
        std::fs::read_dir("bench/retrieval/docs")?.flatten().map(|e| e.path()).collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(f)?;
        words.extend(text.split_whitespace().map(|w| w.chars().filter(char::is_ascii).collect::<String>()));
    }
    let mut words = words.into_iter().filter(|w| !w.is_empty()).cycle();
    let pages: Vec<doubles::files::Page> = (0..100)
        .map(|_| {
            let lines = (0..45)
                .map(|_| {
                    let mut line = String::new();
                    while line.len() < 80 {
                        line.push_str(&words.next().unwrap_or_default());
                        line.push(' ');
                    }
                    line.trim_end().to_owned()
                })
                .collect();
            doubles::files::Page::Text { font: "Times-Roman", size: 11.0, lines }
        })
        .collect();
    let pdf = doubles::files::pdf(&pages);
    let user = make_user(state, &format!("pdf100-{}@bench.invalid", std::process::id())).await?;
    let started = Instant::now();
    upload(state, user, "manual.pdf", &pdf).await?;
    app::jobs::drain(state, "bench").await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let took = started.elapsed().as_secs_f64();
    #[derive(diesel::QueryableByName)]
    struct Done {
        #[diesel(sql_type = BigInt)]
        passages: i64,
        #[diesel(sql_type = Text)]
        status: String,
    }
    let mut c = state.db.get().await?;
    let done: Done =
        diesel::sql_query("SELECT chunks_embedded::BIGINT AS passages, status FROM user_documents WHERE user_id = $1")
            .bind::<BigInt, _>(user)
            .get_result(&mut c)
            .await?;
    println!(
        "a 100-page text PDF ({} KB, {} passages) from upload to searchable: {took:.1} s ({})",
        pdf.len() / 1024,
        done.passages,
        done.status
    );
    Ok(())
}

async fn pdf_pages(state: &AppState) {
    let Ok(dir) = std::fs::read_dir("/usr/share/doc") else { return };
    let mut pdfs = Vec::new();
    for pkg in dir.flatten() {
        if let Ok(files) = std::fs::read_dir(pkg.path()) {
            pdfs.extend(files.flatten().map(|f| f.path()).filter(|p| p.extension().is_some_and(|e| e == "pdf")));
        }
    }
    if pdfs.is_empty() {
        println!("pdf extraction: no PDF under /usr/share/doc to measure");
        return;
    }
    let started = Instant::now();
    let mut pages = 0;
    for p in &pdfs {
        let parser = &state.config.parser;
        if let Ok(x) = app::documents::extract::extract(p, app::documents::types::DocType::Pdf, parser, None).await {
            pages += x.pages.len();
        }
    }
    let took = started.elapsed().as_secs_f64();
    println!(
        "pdf extraction (pdftotext): {} files, {pages} pages in {took:.2} s: {:.0} pages/s",
        pdfs.len(),
        pages as f64 / took
    );
}

/// The synthetic documents' ids start here (far above real ones).
const FIRST_DOC_ID: i64 = 1_000_000;
/// Synthetic corpus shape: topics, the dimension of the subspace a topic's passages vary in, and
/// passages per document.
const TOPICS: usize = 200;
const TOPIC_RANK: usize = 16;
const PER_DOC: usize = 100;
/// The second account: this many documents among everyone else's passages (above the exact-scan
/// limit, so its searches go through the filtered HNSW scan).
const SCOPED_DOCS: usize = 300;

/// A topic of the synthetic corpus: a centre and the directions its documents and passages vary in.
struct Topic {
    centre: Vec<f32>,
    basis: Vec<Vec<f32>>,
    words: Vec<usize>,
}

impl Topic {
    fn new(rng: &mut Rng, dims: usize, vocab: usize) -> Self {
        use app::embedding::normalise;
        let mut random_unit = || normalise((0..dims).map(|_| rng.unit()).collect());
        let centre = random_unit();
        let basis = (0..TOPIC_RANK).map(|_| random_unit()).collect();
        Self { centre, basis, words: (0..60).map(|_| rng.below(vocab)).collect() }
    }
    /// Where a document sits in its topic (coefficients along the basis).
    fn document(&self, rng: &mut Rng) -> Vec<f32> {
        (0..TOPIC_RANK).map(|_| rng.unit() * 2.0 * 0.3).collect()
    }
    /// A passage of a document: the centre (scaled 0.8), the document's place, its own place
    /// around it, and a little isotropic noise. Passages of one document come out about 0.6
    /// cosine-similar, of one topic about 0.35, of different topics about 0 — roughly what
    /// all-MiniLM-L6-v2 gives real text — and, like real embeddings, they vary in few directions.
    fn passage(&self, rng: &mut Rng, doc: &[f32]) -> Vec<f32> {
        let mut v: Vec<f32> = self.centre.iter().map(|x| x * 0.8).collect();
        for (b, d) in self.basis.iter().zip(doc) {
            let coef = d + rng.unit() * 2.0 * 0.35;
            v.iter_mut().zip(b).for_each(|(x, y)| *x += coef * y);
        }
        v.iter_mut().for_each(|x| *x += rng.unit() * 0.035);
        app::embedding::normalise(v)
    }
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Loads the synthetic corpus: `docs` documents for `owner` and `SCOPED_DOCS` for `scoped`,
/// `PER_DOC` passages each (text from the topic's words, vectors from the topic), then builds the
/// HNSW index.
async fn load_corpus(
    state: &AppState,
    rng: &mut Rng,
    vocab: &[String],
    topics: &[Topic],
    accounts: [(i64, usize); 2],
) -> Result<()> {
    use app::vectors;
    let vpool = state.vector.pool().cloned().context("no vector database")?;
    let load_started = Instant::now();
    {
        let mut vc = vpool.get().await?;
        diesel::sql_query("DROP INDEX IF EXISTS document_vectors_hnsw_idx").execute(&mut vc).await?;
    }
    let mut doc_id = FIRST_DOC_ID;
    let mut chunk_rows = 0usize;
    for (user, docs) in accounts {
        for _ in 0..docs {
            let topic = &topics[rng.below(topics.len())];
            let place = topic.document(rng);
            let mut c = state.db.get().await?;
            diesel::sql_query(
                "INSERT INTO user_documents (id, user_id, title, file_name, doc_type, content_type, bytes, sha256, backend, key, \
                 status, chunks_total, chunks_embedded) VALUES ($1, $2, $3, $3, 'txt', 'text/plain', 1, $4, 'local', $5, 'ready', $6, $6)",
            )
            .bind::<BigInt, _>(doc_id)
            .bind::<BigInt, _>(user)
            .bind::<Text, _>(format!("Bench document {doc_id}"))
            .bind::<Text, _>(format!("bench-{doc_id}"))
            .bind::<Text, _>(format!("users/{user}/documents/{doc_id}.txt"))
            .bind::<diesel::sql_types::Integer, _>(PER_DOC as i32)
            .execute(&mut c)
            .await?;
            let texts: Vec<String> = (0..PER_DOC)
                .map(|_| {
                    (0..40)
                        .map(|_| {
                            let w = if rng.below(4) == 0 { rng.below(vocab.len()) } else { topic.words[rng.below(60)] };
                            vocab[w].as_str()
                        })
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect();
            #[derive(diesel::QueryableByName)]
            struct Id {
                #[diesel(sql_type = BigInt)]
                id: i64,
            }
            let ids: Vec<Id> = diesel::sql_query(
                "INSERT INTO document_chunks (document_id, user_id, ordinal, page, text) \
                 SELECT $1, $2, o - 1, 1, t FROM unnest($3::text[]) WITH ORDINALITY AS x(t, o) RETURNING id",
            )
            .bind::<BigInt, _>(doc_id)
            .bind::<BigInt, _>(user)
            .bind::<diesel::sql_types::Array<Text>, _>(&texts)
            .load(&mut c)
            .await?;
            drop(c);
            let rows: Vec<vectors::PassageVector> = ids
                .iter()
                .map(|id| vectors::PassageVector {
                    chunk_id: id.id,
                    document_id: doc_id,
                    user_id: user,
                    embedding: topic.passage(rng, &place),
                })
                .collect();
            let mut vc = vpool.get().await?;
            vectors::insert(&mut vc, "bench-synthetic", rows).await?;
            chunk_rows += PER_DOC;
            doc_id += 1;
            if doc_id % 100 == 0 {
                eprint!("\r  {chunk_rows} passages");
            }
        }
    }
    eprintln!();
    println!("  loaded in {:.1} s", load_started.elapsed().as_secs_f64());
    let started = Instant::now();
    {
        let mut vc = vpool.get().await?;
        diesel::sql_query("SET maintenance_work_mem = '1GB'").execute(&mut vc).await?;
        diesel::sql_query(
            "CREATE INDEX document_vectors_hnsw_idx ON document_vectors USING hnsw (embedding vector_cosine_ops)",
        )
        .execute(&mut vc)
        .await?;
        diesel::sql_query("ANALYZE document_vectors").execute(&mut vc).await?;
    }
    exec(state, "ANALYZE document_chunks").await?;
    exec(state, "ANALYZE user_documents").await?;
    println!("HNSW index build: {:.1} s for {chunk_rows} vectors", started.elapsed().as_secs_f64());
    Ok(())
}

/// Query vectors near `n` random passages of `user` (a passage moved by about a paraphrase).
async fn queries_near(state: &AppState, rng: &mut Rng, user: i64, n: usize) -> Result<Vec<pgvector::Vector>> {
    use diesel::{BoolExpressionMethods, ExpressionMethods, QueryDsl};
    let vpool = state.vector.pool().cloned().context("no vector database")?;
    let mut vc = vpool.get().await?;
    #[derive(diesel::QueryableByName)]
    struct Range {
        #[diesel(sql_type = BigInt)]
        lo: i64,
        #[diesel(sql_type = BigInt)]
        hi: i64,
    }
    let r: Range =
        diesel::sql_query("SELECT min(chunk_id) AS lo, max(chunk_id) AS hi FROM document_vectors WHERE user_id = $1")
            .bind::<BigInt, _>(user)
            .get_result(&mut vc)
            .await?;
    let span = (r.hi - r.lo + 1).max(1) as usize;
    let ids: Vec<i64> = (0..n * 2).map(|_| r.lo + rng.below(span) as i64).collect();
    use app::platform::vector_schema::document_vectors::dsl as v;
    let found: Vec<pgvector::Vector> = v::document_vectors
        .filter(v::chunk_id.eq_any(ids).and(v::user_id.eq(user)))
        .select(v::embedding)
        .limit(n as i64)
        .load(&mut vc)
        .await?;
    Ok(found
        .into_iter()
        .map(|q| {
            let moved: Vec<f32> = q.to_vec().iter().map(|x| x + rng.unit() * 0.03).collect();
            pgvector::Vector::from(app::embedding::normalise(moved))
        })
        .collect())
}

/// recall@10 of `vectors::nearest` as search calls it (the 100 nearest candidates, of which the
/// first ten are compared) against the exact scan, for `user`.
async fn recall(state: &AppState, rng: &mut Rng, user: i64, label: &str) -> Result<()> {
    use app::vectors;
    let queries = queries_near(state, rng, user, 20).await?;
    let vpool = state.vector.pool().cloned().context("no vector database")?;
    let mut c = state.db.get().await?;
    let in_scope: Count =
        diesel::sql_query("SELECT coalesce(sum(chunks_total), 0)::int8 AS n FROM user_documents WHERE user_id = $1")
            .bind::<BigInt, _>(user)
            .get_result(&mut c)
            .await?;
    drop(c);
    let scope = vectors::Scope::owner(user, &[]);
    let mut vc = vpool.get().await?;
    let (mut found, mut times) = (0usize, Vec::new());
    for q in &queries {
        let exact = vectors::exact(&mut vc, &scope, q, 10).await?;
        let t = Instant::now();
        let got = vectors::nearest(&mut vc, &scope, in_scope.n, &q.to_vec(), app::search::service::CANDIDATES).await?;
        times.push(t.elapsed());
        found += got.iter().take(10).filter(|a| exact.iter().any(|e| e.chunk_id == a.chunk_id)).count();
    }
    times.sort();
    println!(
        "recall@10 of the search's nearest-passage query against an exact scan, {label} ({} passages in scope, {} queries): {:.3}; \
         its p50 {:.1} ms, p95 {:.1} ms",
        in_scope.n,
        queries.len(),
        found as f64 / (queries.len() * 10).max(1) as f64,
        percentile(&times, 0.5),
        percentile(&times, 0.95)
    );
    Ok(())
}

/// Loads `passages` synthetic passages with vectors into documents of `user` (for the backup
/// figures), as the search figures do.
pub async fn load_passages(state: &AppState, user: i64, passages: usize) -> Result<()> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (vocab, topics) = vocab_and_topics(state, &mut rng)?;
    load_corpus(state, &mut rng, &vocab, &topics, [(user, passages.div_ceil(PER_DOC)), (user, 0)]).await
}

/// The synthetic corpus's words (the model's own word pieces that are plain words) and topics.
fn vocab_and_topics(state: &AppState, rng: &mut Rng) -> Result<(Vec<String>, Vec<Topic>)> {
    let dims = state.embedder.as_ref().map(|e| e.dimensions()).unwrap_or(384);
    let vocab_file = match &state.config.embedding {
        app::platform::config::EmbeddingConfig::Local { model_dir, .. } => model_dir.join("vocab.txt"),
        _ => std::path::PathBuf::from("/nonexistent"),
    };
    let vocab: Vec<String> = std::fs::read_to_string(&vocab_file)
        .unwrap_or_default()
        .lines()
        .filter(|w| w.len() >= 4 && w.chars().all(|c| c.is_ascii_lowercase()))
        .map(str::to_owned)
        .collect();
    anyhow::ensure!(vocab.len() > 1000, "vocabulary not found at {}", vocab_file.display());
    let topics: Vec<Topic> = (0..TOPICS).map(|_| Topic::new(rng, dims, vocab.len())).collect();
    Ok((vocab, topics))
}

async fn search(state: &AppState, passages: usize) -> Result<()> {
    let Some(vpool) = state.vector.pool().cloned() else { anyhow::bail!("no vector database") };
    // the owner of most passages, and an account with a few hundred documents among them; the
    // HTTP clients sign in as both
    let owner = make_user(state, "search@bench.invalid").await?;
    let scoped = make_user(state, "scoped@bench.invalid").await?;
    set_password(state, owner).await?;
    set_password(state, scoped).await?;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (vocab, topics) = vocab_and_topics(state, &mut rng)?;
    let docs = passages.div_ceil(PER_DOC);
    let total = (docs + SCOPED_DOCS) * PER_DOC;
    let loaded: Count = {
        let mut vc = vpool.get().await?;
        diesel::sql_query("SELECT count(*) AS n FROM document_vectors WHERE model_id = 'bench-synthetic'")
            .get_result(&mut vc)
            .await?
    };
    if loaded.n as usize == total {
        println!("search: reusing the {total} passages loaded by an earlier run (BENCH_REUSE=1)");
    } else {
        println!(
            "search: loading {total} passages: {docs} documents of one account, {SCOPED_DOCS} of another \
             (synthetic, {TOPICS} topics)…"
        );
        load_corpus(state, &mut rng, &vocab, &topics, [(owner, docs), (scoped, SCOPED_DOCS)]).await?;
    }

    recall(state, &mut rng, owner, "an account that owns most of them").await?;
    recall(state, &mut rng, scoped, &format!("an account with {SCOPED_DOCS} documents among them")).await?;

    // where the time of one search goes: the query's embedding, the full-text side, the vector side
    let queries: std::sync::Arc<Vec<String>> = std::sync::Arc::new(
        (0..64)
            .map(|_| {
                let t = &topics[rng.below(TOPICS)];
                (0..3).map(|_| vocab[t.words[rng.below(60)]].clone()).collect::<Vec<_>>().join(" ")
            })
            .collect(),
    );
    let scoped_label = format!("the account with {SCOPED_DOCS} documents");
    for (user, who, in_scope) in [
        (owner, "the account that owns most passages", total - SCOPED_DOCS * PER_DOC),
        (scoped, scoped_label.as_str(), SCOPED_DOCS * PER_DOC),
    ] {
        use app::documents::repo::text_candidates;
        use app::vectors;
        let embedder = state.embedder.clone().context("no embedder")?;
        let (mut embed_t, mut text_t, mut vector_t) = (Vec::new(), Vec::new(), Vec::new());
        let scope = vectors::Scope::owner(user, &[]);
        let mut c = state.db.get().await?;
        let mut vc = vpool.get().await?;
        for q in queries.iter() {
            let t = Instant::now();
            let v = embedder.embed_query(q).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            embed_t.push(t.elapsed());
            let t = Instant::now();
            text_candidates(&mut c, &scope, q, in_scope as i64, 100).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            text_t.push(t.elapsed());
            let t = Instant::now();
            vectors::nearest(&mut vc, &scope, in_scope as i64, &v, 100).await?;
            vector_t.push(t.elapsed());
        }
        for t in [&mut embed_t, &mut text_t, &mut vector_t] {
            t.sort();
        }
        // the words-only ranking as it is capped (each source of candidates at TEXT_MATCH_CAP)
        // against the same ranking of every matching passage
        let (mut same, mut uncapped_t) = (0usize, Vec::new());
        for q in queries.iter().take(16) {
            use app::documents::repo::text_candidates_capped;
            let capped = text_candidates(&mut c, &scope, q, in_scope as i64, 10).await?;
            let t = Instant::now();
            let all = text_candidates_capped(&mut c, &scope, q, in_scope as i64, 10, i64::MAX).await?;
            uncapped_t.push(t.elapsed());
            same += capped.iter().filter(|h| all.iter().any(|a| a.chunk_id == h.chunk_id)).count();
        }
        uncapped_t.sort();
        println!(
            "words-only top 10, capped against uncapped ({who}, {in_scope} passages, 16 queries): recall@10 {:.3} \
             (the uncapped ranking: p50 {:.0} ms)",
            same as f64 / 160.0,
            percentile(&uncapped_t, 0.5)
        );
        println!(
            "one search, in parts ({who}, 64 queries, p50 / p95): query embedding {:.1} / {:.1} ms; \
             full-text candidates {:.1} / {:.1} ms; nearest passages {:.1} / {:.1} ms",
            percentile(&embed_t, 0.5),
            percentile(&embed_t, 0.95),
            percentile(&text_t, 0.5),
            percentile(&text_t, 0.95),
            percentile(&vector_t, 0.5),
            percentile(&vector_t, 0.95)
        );
    }

    // end to end over HTTP: the real router, a signed-in user, /api/search
    let base = crate::common::serve_here(state).await?;
    let runs = [
        ("search@bench.invalid", "the account that owns most", 1usize),
        ("search@bench.invalid", "the account that owns most", 16),
        ("scoped@bench.invalid", scoped_label.as_str(), 1),
    ];
    for (email, who, clients) in runs {
        let client = signed_in(&base, email).await?;
        let per_client = if clients == 1 { 100 } else { 20 };
        let (client, base, queries) = (client.clone(), base.clone(), queries.clone());
        let (all, wall) = run_clients(clients, per_client, move |c, i| {
            let (client, base, queries) = (client.clone(), base.clone(), queries.clone());
            async move {
                let q = &queries[(c * 7 + i) % queries.len()];
                let form = [
                    ("query[q]", q.as_str()),
                    ("query[doc_type]", ""),
                    ("query[from]", ""),
                    ("query[to]", ""),
                    ("query[page]", "1"),
                ];
                match client.post(format!("{base}/api/search")).header("Origin", &base).form(&form).send().await {
                    Ok(r) => r.status().is_success() && r.text().await.map(|b| b.contains("Hybrid")).unwrap_or(false),
                    Err(_) => false,
                }
            }
        })
        .await?;
        println!(
            "search over HTTP, {total} passages, {who}, {clients} client(s): {} of {} answered (hybrid), p50 {:.1} ms, p95 {:.1} ms, {:.1} searches/s",
            all.len(),
            clients * per_client,
            percentile(&all, 0.5),
            percentile(&all, 0.95),
            all.len() as f64 / wall
        );
    }
    Ok(())
}

/// `bartleby-bench retrieval`: the quality of document search on the test set in
/// `bench/retrieval/` (real text, real embeddings from the configured model).
pub async fn retrieval(state: AppState, set_dir: &std::path::Path) -> Result<()> {
    use app::documents::repo::text_candidates;
    use app::documents::service::{add, SpooledFile};
    use app::search::service::{fuse, MAX_DISTANCE};
    use app::vectors;
    let embedder = state.embedder.clone().context("no embedding model: run scripts/setup.sh")?;
    let vpool = state.vector.pool().cloned().context("no vector database")?;
    println!("Retrieval quality on {} with {}", set_dir.display(), embedder.model_id());
    let user = make_user(&state, "retrieval@bench.invalid").await?;
    let tmp = state.config.dirs.uploads.join("tmp");
    tokio::fs::create_dir_all(&tmp).await?;
    let mut names: Vec<String> = std::fs::read_dir(set_dir.join("docs"))
        .with_context(|| format!("{}/docs", set_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".txt"))
        .collect();
    names.sort();
    let mut doc_of: std::collections::HashMap<String, i64> = Default::default();
    for (i, name) in names.iter().enumerate() {
        let data = tokio::fs::read(set_dir.join("docs").join(name)).await?;
        let spool = tmp.join(format!("retrieval-{i}.upload"));
        tokio::fs::write(&spool, &data).await?;
        use sha2::Digest;
        let sha256 = format!("{:x}", sha2::Sha256::digest(&data));
        let file = SpooledFile { path: spool, bytes: data.len() as u64, sha256, file_name: name.clone() };
        let id = match add(&state, user, file).await.map_err(|e| anyhow::anyhow!("{e}"))? {
            app::documents::service::Added::New(id) | app::documents::service::Added::Duplicate(id) => id,
        };
        doc_of.insert(name.clone(), id);
    }
    let started = Instant::now();
    app::jobs::drain(&state, "bench").await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let ingest_secs = started.elapsed().as_secs_f64();

    #[derive(diesel::QueryableByName)]
    struct Chunk {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = BigInt)]
        document_id: i64,
        #[diesel(sql_type = Text)]
        text: String,
    }
    let mut c = state.db.get().await?;
    let chunks: Vec<Chunk> = diesel::sql_query("SELECT id, document_id, text FROM document_chunks WHERE user_id = $1")
        .bind::<BigInt, _>(user)
        .load(&mut c)
        .await?;
    println!(
        "  ingested {} documents, {} passages in {ingest_secs:.1} s ({:.1} passages/s)",
        names.len(),
        chunks.len(),
        chunks.len() as f64 / ingest_secs
    );
    let docs: Vec<i64> = doc_of.values().copied().collect();
    let queries = std::fs::read_to_string(set_dir.join("queries.tsv"))?;
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let (mut ndcg_h, mut ndcg_v, mut ndcg_t, mut recall, mut n, mut hit1_h) = (0.0, 0.0, 0.0, 0.0, 0usize, 0usize);
    let ndcg = |ranked: &[i64], relevant: &std::collections::HashSet<i64>| {
        let dcg: f64 = ranked
            .iter()
            .take(10)
            .enumerate()
            .filter(|(_, c)| relevant.contains(c))
            .map(|(i, _)| 1.0 / ((i + 2) as f64).log2())
            .sum();
        let ideal: f64 = (0..relevant.len().min(10)).map(|i| 1.0 / ((i + 2) as f64).log2()).sum();
        if ideal > 0.0 {
            dcg / ideal
        } else {
            0.0
        }
    };
    let mut vc = vpool.get().await?;
    let mut paraphrases: Vec<(String, std::collections::HashSet<i64>)> = Vec::new();
    for line in queries.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let mut parts = line.split('\t');
        let (Some(q), Some(file), Some(anchor)) = (parts.next(), parts.next(), parts.next()) else { continue };
        let doc = *doc_of.get(file).with_context(|| format!("{file} is not in docs/"))?;
        let words: Vec<&str> = anchor.split_whitespace().collect();
        let (head, tail) = (words[..5.min(words.len())].join(" "), words[words.len().saturating_sub(5)..].join(" "));
        let relevant: std::collections::HashSet<i64> = chunks
            .iter()
            .filter(|ch| {
                ch.document_id == doc && {
                    let t = norm(&ch.text);
                    t.contains(&head) || t.contains(&tail)
                }
            })
            .map(|ch| ch.id)
            .collect();
        anyhow::ensure!(!relevant.is_empty(), "no passage holds the anchor of “{q}”");
        let qv = embedder.embed_query(q).await?;
        let qv = pgvector::Vector::from(qv);
        let scope = vectors::Scope::documents(&docs);
        let exact = vectors::exact(&mut vc, &scope, &qv, 100).await?;
        let approx = vectors::approximate(&mut vc, &scope, &qv, 10).await?;
        let exact10: Vec<i64> = exact.iter().take(10).map(|h| h.chunk_id).collect();
        recall += approx.iter().filter(|a| exact10.contains(&a.chunk_id)).count() as f64 / exact10.len().max(1) as f64;
        let text =
            text_candidates(&mut c, &scope, q, chunks.len() as i64, 100).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let text_ids: Vec<(i64, i64)> = text.iter().map(|h| (h.chunk_id, h.document_id)).collect();
        let vec_ids: Vec<(i64, i64)> =
            exact.iter().filter(|h| h.distance <= MAX_DISTANCE).map(|h| (h.chunk_id, h.document_id)).collect();
        let mut fused: Vec<(i64, f64)> = fuse(&text_ids, &vec_ids).into_iter().map(|(c, (_, s))| (c, s)).collect();
        fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let hybrid: Vec<i64> = fused.iter().map(|(c, _)| *c).collect();
        let vector_only: Vec<i64> = exact.iter().map(|h| h.chunk_id).collect();
        let text_only: Vec<i64> = text.iter().map(|h| h.chunk_id).collect();
        ndcg_h += ndcg(&hybrid, &relevant);
        ndcg_v += ndcg(&vector_only, &relevant);
        ndcg_t += ndcg(&text_only, &relevant);
        hit1_h += usize::from(hybrid.get(..1).is_some_and(|first| relevant.contains(&first[0])));
        paraphrases.push((q.to_owned(), relevant));
        n += 1;
    }
    let n_f = n as f64;
    println!("  {n} queries");
    println!("  recall@10, HNSW vs exact: {:.3}", recall / n_f);
    println!("  nDCG@10: hybrid {:.3}, vector only {:.3}, text only {:.3}", ndcg_h / n_f, ndcg_v / n_f, ndcg_t / n_f);
    println!("  hybrid: relevant passage first for {hit1_h} of {n} queries");

    // words only, beside BM25 over the same passages and words: the set's paraphrases, and
    // known-item queries of words remembered from a passage
    let bm25 = Bm25::load(&mut c, user).await?;
    let texts: Vec<(i64, String)> = chunks.iter().map(|ch| (ch.id, ch.text.clone())).collect();
    let remembered: Vec<(String, std::collections::HashSet<i64>)> = remembered_queries(&mut Rng(0x5eed), &texts, 200)
        .into_iter()
        .map(|(q, id)| (q, std::collections::HashSet::from([id])))
        .collect();
    let scope = vectors::Scope::documents(&docs);
    for (label, set) in [("paraphrases", &paraphrases), ("remembered words", &remembered)] {
        let (mut ours, mut theirs) = ((0.0, 0.0), (0.0, 0.0));
        for (q, relevant) in set {
            let hits = text_candidates(&mut c, &scope, q, chunks.len() as i64, 10)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let (m, r) = mrr_recall(&hits.iter().map(|h| h.chunk_id).collect::<Vec<_>>(), relevant);
            ours = (ours.0 + m, ours.1 + r);
            let (m, r) = mrr_recall(&bm25.rank(&mut c, q).await?, relevant);
            theirs = (theirs.0 + m, theirs.1 + r);
        }
        let k = set.len().max(1) as f64;
        println!(
            "  words only, {} {label} queries over {} passages: MRR@10 {:.3} (BM25 {:.3}), recall@10 {:.3} (BM25 {:.3})",
            set.len(),
            chunks.len(),
            ours.0 / k,
            theirs.0 / k,
            ours.1 / k,
            theirs.1 / k
        );
    }
    Ok(())
}

/// Words-only search against BM25 (k1 1.5, b 0.75, as rank_bm25 and Lucene) over the same
/// passages and the same words (Postgres's English lexemes), on `queries` (query, relevant
/// passage ids): MRR@10 and recall@10 of each.
struct Bm25 {
    /// per passage: its lexemes' counts, and its length
    passages: Vec<(i64, std::collections::HashMap<String, f64>, f64)>,
    df: std::collections::HashMap<String, f64>,
    avg_len: f64,
}

impl Bm25 {
    async fn load(c: &mut diesel_async::AsyncPgConnection, user: i64) -> Result<Self> {
        #[derive(diesel::QueryableByName)]
        struct Term {
            #[diesel(sql_type = BigInt)]
            id: i64,
            #[diesel(sql_type = Text)]
            lexeme: String,
            #[diesel(sql_type = diesel::sql_types::Integer)]
            tf: i32,
        }
        let rows: Vec<Term> = diesel::sql_query(
            "SELECT c.id, u.lexeme, coalesce(cardinality(u.positions), 1) AS tf \
               FROM document_chunks c, unnest(c.tsv) u WHERE c.user_id = $1 ORDER BY c.id",
        )
        .bind::<BigInt, _>(user)
        .load(c)
        .await?;
        let mut passages: Vec<(i64, std::collections::HashMap<String, f64>, f64)> = Vec::new();
        let mut df: std::collections::HashMap<String, f64> = Default::default();
        for r in rows {
            match passages.last_mut() {
                Some(p) if p.0 == r.id => {
                    p.1.insert(r.lexeme.clone(), f64::from(r.tf));
                    p.2 += f64::from(r.tf);
                }
                _ => passages.push((r.id, [(r.lexeme.clone(), f64::from(r.tf))].into(), f64::from(r.tf))),
            }
            *df.entry(r.lexeme).or_default() += 1.0;
        }
        let avg_len = passages.iter().map(|p| p.2).sum::<f64>() / passages.len().max(1) as f64;
        Ok(Self { passages, df, avg_len })
    }

    async fn rank(&self, c: &mut diesel_async::AsyncPgConnection, q: &str) -> Result<Vec<i64>> {
        #[derive(diesel::QueryableByName)]
        struct Lexeme {
            #[diesel(sql_type = Text)]
            lexeme: String,
        }
        let words: Vec<Lexeme> =
            diesel::sql_query("SELECT unnest(tsvector_to_array(to_tsvector('english', $1))) AS lexeme")
                .bind::<Text, _>(q)
                .load(c)
                .await?;
        let n = self.passages.len() as f64;
        let (k1, b) = (1.5, 0.75);
        let mut scored: Vec<(i64, f64)> = self
            .passages
            .iter()
            .map(|(id, tf, len)| {
                let s = words
                    .iter()
                    .filter_map(|w| {
                        let f = *tf.get(&w.lexeme)?;
                        let df = self.df[&w.lexeme];
                        let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
                        Some(idf * f * (k1 + 1.0) / (f + k1 * (1.0 - b + b * len / self.avg_len)))
                    })
                    .sum::<f64>();
                (*id, s)
            })
            .filter(|(_, s)| *s > 0.0)
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(scored.into_iter().take(10).map(|(id, _)| id).collect())
    }
}

/// MRR@10 and recall@10 of `ranked` (top ten first) against `relevant`.
fn mrr_recall(ranked: &[i64], relevant: &std::collections::HashSet<i64>) -> (f64, f64) {
    let top: Vec<i64> = ranked.iter().take(10).copied().collect();
    let mrr = top.iter().position(|id| relevant.contains(id)).map_or(0.0, |i| 1.0 / (i + 1) as f64);
    let recall = top.iter().filter(|id| relevant.contains(id)).count() as f64 / relevant.len().clamp(1, 10) as f64;
    (mrr, recall)
}

/// Known-item queries remembered from passages: four words of one sentence of a passage, in
/// another order (the words a person remembers of a paper), that passage being the one sought.
fn remembered_queries(rng: &mut Rng, chunks: &[(i64, String)], n: usize) -> Vec<(String, i64)> {
    const COMMON: &[&str] = &[
        "that", "this", "with", "from", "have", "which", "their", "there", "they", "will", "been", "were", "shall",
        "would", "should", "such", "these", "those", "upon", "into", "than", "them", "other", "more", "most", "some",
        "what", "when", "where", "while", "also", "only", "very", "every", "each", "under", "over",
    ];
    let mut out = Vec::new();
    let mut tries = 0;
    while out.len() < n && tries < n * 20 {
        tries += 1;
        let (id, text) = &chunks[rng.below(chunks.len())];
        let sentences: Vec<&str> =
            text.split(['.', ';', '?', '!']).filter(|s| s.split_whitespace().count() >= 8).collect();
        if sentences.is_empty() {
            continue;
        }
        let sentence = sentences[rng.below(sentences.len())];
        let mut words: Vec<String> = sentence
            .split(|ch: char| !ch.is_alphanumeric())
            .filter(|w| w.len() >= 4 && !COMMON.contains(&w.to_lowercase().as_str()))
            .map(str::to_lowercase)
            .collect();
        words.dedup();
        if words.len() < 4 {
            continue;
        }
        let mut picked = Vec::new();
        while picked.len() < 4 {
            let w = words.swap_remove(rng.below(words.len()));
            picked.push(w);
        }
        out.push((picked.join(" "), *id));
    }
    out
}
