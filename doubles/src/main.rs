//! `bartleby-doubles`: serves a local stand-in for a hosted service, to try Bartleby's hosted
//! modes on one machine without an account. Not for production: see each command's `--help`.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

/// Local stand-ins for the hosted services Bartleby can use. For trying the hosted modes on your
/// machine and for the tests, never for real data.
#[derive(Parser)]
#[command(name = "bartleby-doubles", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a Vercel Blob API stand-in, to try STORAGE_BACKEND=vercel without an account.
    /// Objects live in memory and are gone when it stops. It accepts the token in
    /// BLOB_READ_WRITE_TOKEN (or a fixed local one).
    VercelBlob {
        #[arg(default_value_t = 3300)]
        port: u16,
    },
    /// Serve an OpenAI-compatible embeddings API stand-in (POST /v1/embeddings). Its vectors
    /// come from word hashes, not from a model: texts that share words are near, meaning is not
    /// seen. For trying OPENAI_BASE_URL, not for real search.
    Openai {
        #[arg(default_value_t = 3400)]
        port: u16,
    },
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().command {
        Command::VercelBlob { port } => vercel_blob(port).await,
        Command::Openai { port } => openai(port).await,
    }
}

async fn vercel_blob(port: u16) -> Result<()> {
    let token = std::env::var("BLOB_READ_WRITE_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "vercel_blob_rw_localdouble_notasecret".into());
    let double = doubles::vercel::VercelDouble::new(token.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.with_context(|| format!("port {port}"))?;
    let base = format!("http://127.0.0.1:{port}");
    double.set_base(&base);
    println!("Vercel Blob stand-in on {base} (objects in memory). Start Bartleby with:");
    println!(
        "  STORAGE_BACKEND=vercel VERCEL_BLOB_API_URL={base}/api/blob BLOB_READ_WRITE_TOKEN={token} scripts/start.sh"
    );
    axum::serve(listener, double.router()).with_graceful_shutdown(shutdown_signal()).await?;
    Ok(())
}

async fn openai(port: u16) -> Result<()> {
    let key = "sk-local-double-notasecret";
    let double = doubles::openai::OpenAiDouble::new(key);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.with_context(|| format!("port {port}"))?;
    let base = format!("http://127.0.0.1:{port}/v1");
    println!(
        "OpenAI-compatible embeddings stand-in on {base} (vectors from word hashes, not a model). Start Bartleby with:"
    );
    println!("  OPENAI_BASE_URL={base} OPENAI_API_KEY={key} scripts/start.sh   # then run `bartleby reindex` once");
    axum::serve(listener, double.router()).with_graceful_shutdown(shutdown_signal()).await?;
    Ok(())
}

/// Ctrl-C stops a stand-in cleanly (SIGTERM ends it too: it keeps nothing to save).
async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
