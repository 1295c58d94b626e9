//! Each converter on its fixture file: converted answers in the guide's
//! call syntax, and unrepresentable records rejected with a reason.

use std::path::{Path, PathBuf};

use grpo_dataset::convert::{convert_file, ConvertOptions, Converted, Format};
use grpo_dataset::prompt::{find_tools, query_of};
use grpo_dataset::Error;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn convert(format: Format, name: &str) -> Converted {
    convert_file(format, &data(name), &ConvertOptions::default()).unwrap()
}

fn answers(c: &Converted) -> Vec<&str> {
    c.examples.iter().map(|e| e.answer.as_str()).collect()
}

fn reasons(c: &Converted) -> Vec<(String, String)> {
    c.rejected
        .iter()
        .map(|r| {
            (
                r.location.rsplit('/').next().unwrap().to_owned(),
                r.reason.clone(),
            )
        })
        .collect()
}

#[test]
fn xlam() {
    let c = convert(Format::Xlam, "xlam.json");
    assert_eq!(c.read, 5);
    assert_eq!(
        answers(&c),
        [
            "calculate_factorial(n=5)",
            "get_weather(city=\"Paris\", unit=\"fahrenheit\")\nget_weather(city=\"Tokyo\", unit=\"fahrenheit\")",
            "",
        ]
    );
    let first = &c.examples[0];
    assert_eq!(query_of(&first.prompt), "What is the factorial of 5?");
    assert_eq!(
        find_tools(&first.prompt).unwrap().tools[0]["name"],
        "calculate_factorial"
    );
    assert_eq!(first.ground_truth.as_deref(), Some("calculate_factorial"));
    assert_eq!(first.source, "xlam");
    assert_eq!(first.extra["source_id"], 1);
    assert_eq!(
        c.examples[1].possible_boxed_answers,
        ["get_weather", "get_time"]
    );
    assert!(!c.examples[1].is_multi_answer);
    let r = reasons(&c);
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].0, "xlam.json:[3]");
    assert!(r[0].1.contains("`book_table`"), "{}", r[0].1);
    assert_eq!(r[1].0, "xlam.json:[4]");
    assert!(
        r[1].1.contains("`answers` is text that is not JSON"),
        "{}",
        r[1].1
    );
}

#[test]
fn glaive() {
    let c = convert(Format::Glaive, "glaive.jsonl");
    // Arguments keep the order the source wrote them in.
    assert_eq!(answers(&c), ["calculate_bmi(weight=70, height=1.75)", ""]);
    assert_eq!(
        query_of(&c.examples[0].prompt),
        "Hi, I weigh 70 kilograms and I am 1.75 meters tall. What is my BMI?"
    );
    assert_eq!(
        query_of(&c.examples[1].prompt),
        "Can you order a pizza for me?"
    );
    let r = reasons(&c);
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].0, "glaive.jsonl:3");
    assert!(r[0].1.contains("lists no functions"), "{}", r[0].1);
    assert_eq!(r[1].0, "glaive.jsonl:4");
    assert!(r[1].1.contains("not JSON"), "{}", r[1].1);
}

#[test]
fn hermes_and_openai_chats() {
    let c = convert(Format::Hermes, "hermes.jsonl");
    assert_eq!(
        answers(&c),
        [
            "get_stock_price(symbol=\"AAPL\")",
            "convert_currency(amount=100, from=\"USD\", to=\"EUR\")\nconvert_currency(amount=50, from=\"GBP\", to=\"JPY\")",
            "get_stock_price(symbol=\"MSFT\")",
            "",
        ]
    );
    assert_eq!(c.examples[0].extra["source_category"], "Finance");
    // The system turn is context too.
    assert_eq!(c.examples[0].messages.as_ref().map(Vec::len), Some(2));
    // Multi-turn: the query is the last user turn, the context is kept.
    let multi = &c.examples[2];
    assert_eq!(query_of(&multi.prompt), "MSFT please");
    let roles: Vec<&str> = multi
        .messages
        .as_ref()
        .unwrap()
        .iter()
        .map(|m| m.role.as_str())
        .collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"]);
    let r = reasons(&c);
    assert_eq!(r.len(), 2);
    assert!(
        r[0].1.contains("neither JSON nor a Python dict"),
        "{}",
        r[0].1
    );
    assert!(
        r[1].1.contains("unknown turn sender `narrator`"),
        "{}",
        r[1].1
    );
}

#[test]
fn bfcl_with_possible_answers() {
    let opts = ConvertOptions {
        answers: Some(data("bfcl_answers.jsonl")),
        ..ConvertOptions::default()
    };
    let c = convert_file(Format::Bfcl, &data("bfcl_questions.jsonl"), &opts).unwrap();
    assert_eq!(
        answers(&c),
        [
            "calculate_triangle_area(base=10, height=5, unit=\"units\")",
            "math.factorial(number=5)\nmath.factorial(number=7)",
            "",
        ]
    );
    assert_eq!(
        c.examples[0].possible_answers.as_ref().unwrap()[0]["calculate_triangle_area"]["unit"],
        serde_json::json!(["units", ""])
    );
    assert_eq!(c.examples[1].messages.as_ref().unwrap().len(), 2);
    assert_eq!(c.examples[2].id(), Some("irrelevance_0"));
    assert_eq!(c.examples[2].category(), Some("irrelevance"));
    let r = reasons(&c);
    assert_eq!(r.len(), 2);
    assert!(r[0].1.contains("multi-turn"), "{}", r[0].1);
    assert!(
        r[1].1.contains("no possible answer for id `simple_1`"),
        "{}",
        r[1].1
    );
}

#[test]
fn bfcl_without_answer_file_is_an_error() {
    let err = convert_file(
        Format::Bfcl,
        &data("bfcl_questions.jsonl"),
        &ConvertOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::BadSource { .. }), "{err}");
}

#[test]
fn converted_records_load_back() {
    let dir = tempfile::tempdir().unwrap();
    let c = convert(Format::Hermes, "hermes.jsonl");
    let out = dir.path().join("out.jsonl");
    grpo_dataset::write_jsonl(&out, &c.examples).unwrap();
    let loaded = grpo_dataset::load(
        &out,
        &grpo_dataset::LoadOptions {
            strict: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(loaded.examples.len(), c.examples.len());
}

#[test]
fn format_names_parse() {
    for f in Format::ALL {
        assert_eq!(f.name().parse::<Format>().unwrap(), f);
    }
    let err = "sharegpt".parse::<Format>().unwrap_err();
    assert!(
        err.to_string().contains("xlam, glaive, hermes, bfcl"),
        "{err}"
    );
}
