//! The migrations are embedded in the binary (`embed_migrations!`): rebuild when they change, so a
//! pull that only adds a migration never leaves a binary without it.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
