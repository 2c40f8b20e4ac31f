//! The README's component reference is exactly what `weir reference` generates from the config
//! structs' doc comments. `WEIR_BLESS=1 cargo test --test readme_reference` rewrites it.

const START: &str = "<!-- reference:start -->\n";
const END: &str = "<!-- reference:end -->";

#[test]
fn readme_reference_matches_the_generated_reference() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let readme = std::fs::read_to_string(path).expect("README.md");
    let start = readme.find(START).expect("reference start marker") + START.len();
    let end = readme.find(END).expect("reference end marker");
    let generated = weir::reference::markdown(&weir::registry());
    if std::env::var_os("WEIR_BLESS").is_some() {
        let updated = format!("{}{}{}", &readme[..start], generated, &readme[end..]);
        std::fs::write(path, updated).expect("write README.md");
        return;
    }
    assert!(
        readme[start..end] == generated,
        "README.md's component reference is out of date; run `WEIR_BLESS=1 cargo test --test readme_reference`"
    );
}
