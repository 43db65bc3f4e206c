//! Ids that cannot be swapped by mistake: where a function takes a user's, an item's and a stored
//! object's id side by side (a storage key, say), each has its own type, so passing them in the
//! wrong order does not compile. They are plain `i64`s underneath, and on the wire.

macro_rules! id {
    ($name:ident, $what:literal) => {
        #[doc = concat!("The id of ", $what, ".")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id!(UserId, "a user");
id!(ItemId, "an inventory item");
id!(AssetId, "a stored photo or thumbnail");
id!(DocumentId, "a document");
id!(ExportId, "an export");
id!(ArchiveId, "an account archive");
