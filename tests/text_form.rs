//! The text form: parsing, printing, conversion and equivalence with the YAML form.

use stave::diagnostics::FileId;
use stave::syntax::{print_text, print_yaml, text, yaml};

#[test]
fn scratch() {
    let src = std::fs::read_to_string("tests/fixtures/text/order-fulfilment.stave").unwrap();
    let (wf, diags) = text::parse(FileId(0), &src);
    println!("{diags:#?}");
    let wf = wf.unwrap();
    let (f, d) = print_text::format(FileId(0), &src);
    println!("{d:?}\n{}", f.unwrap());
    let t = print_text::print_text(&wf);
    let y = print_yaml::print_yaml(&wf);
    println!("{y}");
    let (w2, d2) = yaml::load(FileId(0), &y);
    println!("{d2:#?}");
    println!("{}", print_text::print_text(&w2.unwrap()) == t);
    panic!();
}
