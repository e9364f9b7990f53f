//! The storefront's wasm keeps the linker's relocations (`--emit-relocs`): wasm-split needs
//! them to move the lazily loaded pages into chunks of their own (scripts/build-frontend). The
//! console is not split, and its wasm stays a standard module that wasm-opt fully optimises.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-bin=techverse-frontend=--emit-relocs");
    }
}
