//! What the documents pages exchange with the server (compiled for the browser too).

use serde::{Deserialize, Serialize};

/// The document formats Bartleby reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DocType {
    Pdf,
    Docx,
    Xlsx,
    Html,
    Md,
    Txt,
    /// A scan or a photographed paper (JPEG, PNG, WebP, HEIC, TIFF): its text is read by OCR.
    Image,
}

impl DocType {
    pub const ALL: [DocType; 7] = [Self::Pdf, Self::Docx, Self::Xlsx, Self::Html, Self::Md, Self::Txt, Self::Image];

    /// The value stored in `user_documents.doc_type` and used in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Docx => "docx",
            Self::Xlsx => "xlsx",
            Self::Html => "html",
            Self::Md => "md",
            Self::Txt => "txt",
            Self::Image => "image",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            Self::Pdf => "PDF",
            Self::Docx => "Word",
            Self::Xlsx => "Excel",
            Self::Html => "HTML",
            Self::Md => "Markdown",
            Self::Txt => "Text",
            Self::Image => "Image",
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Html => "text/html; charset=utf-8",
            Self::Md => "text/markdown; charset=utf-8",
            Self::Txt => "text/plain; charset=utf-8",
            // the stored type is the image's own, recognised by its content
            Self::Image => "application/octet-stream",
        }
    }
    /// The formats with pages (PDF) or sheets (XLSX): their passages carry a page number.
    pub fn is_paged(self) -> bool {
        matches!(self, Self::Pdf | Self::Xlsx)
    }
}

/// Where a document is in its ingest (`user_documents.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow))]
#[cfg_attr(feature = "ssr", diesel(sql_type = diesel::sql_types::Text))]
pub enum DocStatus {
    Queued,
    Extracting,
    Embedding,
    Ready,
    Failed,
    NoText,
}

impl DocStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Extracting => "extracting",
            Self::Embedding => "embedding",
            Self::Ready => "ready",
            Self::Failed => "failed",
            Self::NoText => "no_text",
        }
    }
    pub const ALL: [DocStatus; 6] =
        [Self::Queued, Self::Extracting, Self::Embedding, Self::Ready, Self::Failed, Self::NoText];
    /// Still moving: the page keeps polling while any document is.
    pub fn is_pending(self) -> bool {
        matches!(self, Self::Queued | Self::Extracting | Self::Embedding)
    }
    pub fn label(self) -> &'static str {
        match self {
            Self::Queued => "Waiting",
            Self::Extracting => "Reading text",
            Self::Embedding => "Indexing",
            Self::Ready => "Ready",
            Self::Failed => "Failed",
            Self::NoText => "No text found",
        }
    }
}

/// How the progress of OCR starts ("Reading text (OCR), page 3 of 12"), in a document's status detail.
pub const OCR_PROGRESS: &str = "Reading text (OCR)";

/// One row of the documents list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentRow {
    pub id: i64,
    pub title: String,
    pub file_name: String,
    pub doc_type: DocType,
    pub bytes: i64,
    pub pages: Option<i32>,
    /// How many pages were read by OCR (0: none; their text may hold mistakes).
    pub ocr_pages: i32,
    /// Pages without text left unread by OCR (past `OCR_MAX_PAGES`).
    pub ocr_skipped: i32,
    pub status: DocStatus,
    /// Why it failed, or what it is waiting for.
    pub status_detail: Option<String>,
    pub chunks_total: i32,
    pub chunks_embedded: i32,
    pub created_at: String,
    /// Set on documents another user shared with the viewer.
    pub owner_email: Option<String>,
}

impl DocumentRow {
    /// "Indexing 12 of 40 passages", "Reading text (OCR), page 3 of 12", "Ready", "Failed: …"
    pub fn status_text(&self) -> String {
        match self.status {
            DocStatus::Extracting => match &self.status_detail {
                Some(d) if d.starts_with(OCR_PROGRESS) => d.clone(),
                _ => DocStatus::Extracting.label().to_owned(),
            },
            DocStatus::Embedding if self.chunks_total > 0 => {
                format!("Indexing {} of {} passages", self.chunks_embedded, self.chunks_total)
            }
            s => s.label().to_owned(),
        }
    }
}

/// The dashboard's document figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentStats {
    /// the user's own documents
    pub count: i64,
    /// pages (and sheets) read from them
    pub pages: i64,
    /// how many of each type (its label), most first
    pub by_type: Vec<(String, i64)>,
    /// still being read
    pub reading: i64,
    /// failed, or no text found: they want a look
    pub attention: i64,
    /// documents others share with the user
    pub shared_with_me: i64,
    /// the newest few
    pub recent: Vec<DocumentRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentList {
    pub mine: Vec<DocumentRow>,
    pub shared: Vec<DocumentRow>,
}

impl DocumentList {
    pub fn pending(&self) -> bool {
        self.mine.iter().chain(&self.shared).any(|d| d.status.is_pending())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageText {
    pub page: i32,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grantee {
    pub email: String,
    pub user_id: i64,
    pub granted_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentDetail {
    pub row: DocumentRow,
    pub summary: Option<String>,
    pub pages: Vec<PageText>,
    /// True for the owner: may share, revoke, retry and delete.
    pub is_owner: bool,
    pub shared_with: Vec<Grantee>,
}

#[cfg(feature = "ssr")]
crate::text_column_enum!(DocStatus);
