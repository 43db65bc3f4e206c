//! Every query of the inventory feature: items (and their embedding bookkeeping), photos and
//! thumbnails, exports. Each function takes the owner's id and filters by it: there is no way to
//! reach another user's row from here. Places keep their queries in `locations`, beside the tree
//! logic that locks and rewrites them.

pub mod assets;
pub mod exports;
mod items;

pub use items::*;
