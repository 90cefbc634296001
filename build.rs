//! `sqlx::migrate!` embeds the files under `migrations/` at compile time, but cargo does not
//! know the macro read them: without this a new migration file would not be picked up until
//! something else changed.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
