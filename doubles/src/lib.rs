//! Stand-ins for the hosted services that have no local emulator, each following its published
//! contract so that Bartleby's real client code runs against it: the Vercel Blob API
//! ([`vercel`]) and an OpenAI-compatible embeddings API ([`openai`]). The integration tests use
//! them in-process; `bartleby-doubles` serves them for people trying the hosted modes locally.
//! Beside them, [`files`] makes the documents the tests and benchmarks feed Bartleby (PDFs with
//! and without a text layer, multi-page TIFFs). Nothing here is part of the product binary.

pub mod files;
pub mod openai;
pub mod vercel;
