//! The catalogue's functions as tools that run: [`tools`] lists them with
//! JSON Schemas, [`execute`] computes a call's result.
//!
//! Results are deterministic, so that a multi-turn task's final answer is
//! fixed by its calls: arithmetic and text functions compute the true
//! answer; functions about the world (weather, prices, flights) give made-up
//! values derived from a hash of the function and its arguments, the same
//! on every run and machine.

use serde_json::{json, Map, Value};

use super::catalogue::{self, Function, Ty};

/// Every catalogue function as an MCP tool: `{"name", "description",
/// "inputSchema"}`, where the schema is a JSON Schema object whose
/// properties are in declaration order, with `enum`, `default` and
/// `required` where they apply.
pub fn tools() -> Vec<Value> {
    catalogue::all()
        .into_iter()
        .map(|f| {
            json!({
                "name": f.name,
                "description": f.description,
                "inputSchema": input_schema(f),
            })
        })
        .collect()
}

fn input_schema(f: &Function) -> Value {
    let mut properties = Map::new();
    for p in f.params {
        let mut spec = match &p.ty {
            Ty::Int { .. } => json!({"type": "integer"}),
            Ty::Float { .. } => json!({"type": "number"}),
            Ty::Text(_) | Ty::Code { .. } => json!({"type": "string"}),
            Ty::Choice(words) => json!({"type": "string", "enum": words}),
            Ty::Flag { .. } => json!({"type": "boolean"}),
            Ty::Ints { .. } => json!({"type": "array", "items": {"type": "integer"}}),
            Ty::Texts { .. } => json!({"type": "array", "items": {"type": "string"}}),
        };
        spec["description"] = json!(p.description);
        if let Some(d) = p.default {
            spec["default"] = d.to_json();
        }
        properties.insert(p.name.into(), spec);
    }
    let required: Vec<&str> = f
        .params
        .iter()
        .filter(|p| p.default.is_none())
        .map(|p| p.name)
        .collect();
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// Runs catalogue function `name` on `arguments` (a JSON object; omitted
/// optional parameters take their defaults).
///
/// The `Err` text is meant for the model: an unknown function, a missing
/// or unknown parameter, a value of the wrong type or outside the enum.
pub fn execute(name: &str, arguments: &Map<String, Value>) -> Result<Value, String> {
    let f = catalogue::all()
        .into_iter()
        .find(|f| f.name == name)
        .ok_or_else(|| format!("unknown function `{name}`"))?;
    let args = Args::check(f, arguments)?;
    run(f.name, &args)
}

/// A call's arguments, checked against the function's parameters and
/// completed with defaults.
struct Args {
    function: &'static str,
    values: Map<String, Value>,
}

impl Args {
    fn check(f: &'static Function, given: &Map<String, Value>) -> Result<Self, String> {
        if let Some(unknown) = given.keys().find(|k| f.param(k).is_none()) {
            let names: Vec<&str> = f.params.iter().map(|p| p.name).collect();
            return Err(format!(
                "`{}` has no parameter `{unknown}`; its parameters are: {}",
                f.name,
                names.join(", ")
            ));
        }
        let mut values = Map::new();
        for p in f.params {
            let value = match (given.get(p.name), p.default) {
                (Some(v), _) => v.clone(),
                (None, Some(d)) => d.to_json(),
                (None, None) => {
                    return Err(format!("`{}` needs the argument `{}`", f.name, p.name))
                }
            };
            let fits = match &p.ty {
                Ty::Int { .. } => value.is_i64(),
                Ty::Float { .. } => value.is_number(),
                Ty::Text(_) | Ty::Code { .. } => value.is_string(),
                Ty::Choice(words) => value.as_str().is_some_and(|s| words.contains(&s)),
                Ty::Flag { .. } => value.is_boolean(),
                Ty::Ints { .. } => value
                    .as_array()
                    .is_some_and(|a| a.iter().all(Value::is_i64)),
                Ty::Texts { .. } => value
                    .as_array()
                    .is_some_and(|a| a.iter().all(Value::is_string)),
            };
            if !fits {
                let want = match &p.ty {
                    Ty::Choice(words) => format!("one of {}", words.join(", ")),
                    ty => format!("of type {}", ty.type_name()),
                };
                return Err(format!(
                    "`{}`: `{}` must be {want}, not {value}",
                    f.name, p.name
                ));
            }
            values.insert(p.name.into(), value);
        }
        Ok(Args {
            function: f.name,
            values,
        })
    }

    fn int(&self, name: &str) -> i64 {
        self.values[name].as_i64().unwrap_or_default()
    }

    fn float(&self, name: &str) -> f64 {
        self.values[name].as_f64().unwrap_or_default()
    }

    fn str(&self, name: &str) -> &str {
        self.values[name].as_str().unwrap_or_default()
    }

    fn bool(&self, name: &str) -> bool {
        self.values[name].as_bool().unwrap_or_default()
    }

    fn ints(&self, name: &str) -> Vec<i64> {
        self.values[name]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default()
    }

    /// A number in `0..n` fixed by the function and all its arguments (and
    /// `salt`, for several values of one call): the made-up part of a
    /// world-facing result.
    fn draw(&self, salt: &str, n: u64) -> u64 {
        // FNV-1a: stable across platforms and releases, unlike std's hasher.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let text = format!(
            "{}|{}|{salt}",
            self.function,
            Value::Object(self.values.clone())
        );
        for byte in text.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        hash % n.max(1)
    }
}

/// Rounds to `decimals` places, as results show money and measures.
fn round(x: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (x * scale).round() / scale
}

fn run(name: &str, a: &Args) -> Result<Value, String> {
    Ok(match name {
        "calculate_factorial" => {
            let n = a.int("n");
            if !(0..=20).contains(&n) {
                return Err(format!(
                    "`calculate_factorial`: n must be between 0 and 20, not {n}"
                ));
            }
            json!({"factorial": (1..=n).product::<i64>()})
        }
        "is_prime" => {
            let n = a.int("number");
            let prime = n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0);
            json!({"number": n, "is_prime": prime})
        }
        "greatest_common_divisor" => {
            let (mut x, mut y) = (a.int("a").abs(), a.int("b").abs());
            while y != 0 {
                (x, y) = (y, x % y);
            }
            json!({"gcd": x})
        }
        "calculate_average" => {
            let numbers = a.ints("numbers");
            if numbers.is_empty() {
                return Err("`calculate_average`: numbers must not be empty".into());
            }
            let mean = numbers.iter().sum::<i64>() as f64 / numbers.len() as f64;
            json!({"average": round(mean, 4)})
        }
        "calculate_power" => {
            let (base, exponent) = (a.int("base"), a.int("exponent"));
            let power = u32::try_from(exponent)
                .ok()
                .and_then(|e| base.checked_pow(e))
                .ok_or_else(|| format!("`calculate_power`: {base}^{exponent} is out of range"))?;
            json!({"result": power})
        }
        "fibonacci_number" => {
            let n = a.int("n");
            if !(0..=90).contains(&n) {
                return Err(format!(
                    "`fibonacci_number`: n must be between 0 and 90, not {n}"
                ));
            }
            let (mut x, mut y) = (0i64, 1i64);
            for _ in 0..n {
                (x, y) = (y, x + y);
            }
            json!({"fibonacci": x})
        }
        "get_range" => {
            let (start, end, step) = (a.int("start"), a.int("end"), a.int("step"));
            if step <= 0 {
                return Err("`get_range`: step must be positive".into());
            }
            let numbers: Vec<i64> = (start..end).step_by(step as usize).take(1000).collect();
            json!({"numbers": numbers})
        }
        "round_number" => {
            let decimals = a.int("decimals").clamp(0, 10) as i32;
            json!({"rounded": round(a.float("value"), decimals)})
        }
        "calculate_bmi" => {
            let (h, w) = (a.float("height_m"), a.float("weight_kg"));
            if h <= 0.0 {
                return Err("`calculate_bmi`: height_m must be positive".into());
            }
            json!({"bmi": round(w / (h * h), 1)})
        }
        "reverse_words" => {
            let reversed: Vec<&str> = a.str("text").split_whitespace().rev().collect();
            json!({"text": reversed.join(" ")})
        }
        "count_vowels" => {
            let count = a
                .str("text")
                .chars()
                .filter(|c| "aeiouAEIOU".contains(*c))
                .count();
            json!({"vowels": count})
        }
        "is_palindrome" => {
            let word: Vec<char> = a
                .str("word")
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric())
                .collect();
            let palindrome = word.iter().eq(word.iter().rev());
            json!({"word": a.str("word"), "is_palindrome": palindrome})
        }
        "count_words" => json!({"words": a.str("text").split_whitespace().count()}),
        "translate_text" => {
            let lang = a.str("target_language");
            let register = if a.bool("formal") {
                "formal"
            } else {
                "informal"
            };
            json!({"translation": format!("[{lang}, {register}] {}", a.str("text"))})
        }
        "define_word" => {
            let senses = 1 + a.draw("senses", 3);
            let mut result = json!({
                "word": a.str("word"),
                "definition": format!("{} (sense 1 of {senses})", a.str("word")),
            });
            if a.bool("include_examples") {
                result["examples"] = json!([format!("An example with {}.", a.str("word"))]);
            }
            result
        }
        "get_weather" => {
            let celsius = a.draw("temperature", 41) as i64 - 5;
            let (temperature, unit) = if a.str("unit") == "fahrenheit" {
                (celsius * 9 / 5 + 32, "fahrenheit")
            } else {
                (celsius, "celsius")
            };
            let sky = ["sunny", "cloudy", "rainy", "windy", "snowy"][a.draw("sky", 5) as usize];
            json!({"city": a.str("city"), "temperature": temperature, "unit": unit, "conditions": sky})
        }
        "get_forecast" => {
            let days: Vec<Value> = (1..=a.int("days").clamp(1, 14))
                .map(|d| {
                    json!({"day": d, "high_c": a.draw(&format!("high{d}"), 30) as i64, "rain_percent": a.draw(&format!("rain{d}"), 101)})
                })
                .collect();
            json!({"city": a.str("city"), "days": days})
        }
        "find_flights" => {
            let count = 1 + a.draw("count", 4);
            let flights: Vec<Value> = (0..count)
                .map(|i| {
                    json!({
                        "flight": format!("MG{}", 100 + a.draw(&format!("no{i}"), 900)),
                        "price_usd": 80 + a.draw(&format!("price{i}"), 900),
                        "stops": if a.bool("nonstop") { 0 } else { a.draw(&format!("stops{i}"), 3) },
                    })
                })
                .collect();
            json!({"origin": a.str("origin"), "destination": a.str("destination"), "date": a.str("date"), "flights": flights})
        }
        "book_hotel" => {
            let per_night = 60 + a.draw("rate", 240) as i64;
            json!({
                "city": a.str("city"),
                "confirmation": format!("H{:06}", a.draw("confirmation", 1_000_000)),
                "total_usd": per_night * a.int("nights") * a.int("guests").max(1),
            })
        }
        "get_local_time" => {
            let minutes = a.draw("minutes", 24 * 60);
            json!({"timezone": a.str("timezone"), "time": format!("{:02}:{:02}", minutes / 60, minutes % 60)})
        }
        "get_distance" => {
            let km = if a.str("origin") == a.str("destination") {
                0
            } else {
                50 + a.draw("km", 15_000)
            };
            let (distance, unit) = if a.str("unit") == "miles" {
                (round(km as f64 * 0.621_371, 1), "miles")
            } else {
                (km as f64, "km")
            };
            json!({"distance": distance, "unit": unit})
        }
        "convert_currency" => {
            let (from, to) = (a.str("from_currency"), a.str("to_currency"));
            let rate = |c: &str| match c {
                "USD" => 1.0,
                "EUR" => 0.92,
                "GBP" => 0.79,
                "JPY" => 151.0,
                "CAD" => 1.36,
                "AUD" => 1.52,
                "CHF" => 0.88,
                _ => 1.0,
            };
            let converted = round(a.float("amount") / rate(from) * rate(to), 2);
            json!({"amount": converted, "currency": to})
        }
        "get_stock_price" => {
            let cents = 5_000 + a.draw("price", 95_000);
            json!({"symbol": a.str("symbol"), "price_usd": cents as f64 / 100.0})
        }
        "calculate_loan_payment" => {
            let (p, years) = (a.float("principal"), a.int("years"));
            let r = a.float("annual_rate") / 100.0 / 12.0;
            let n = (years * 12) as f64;
            if n <= 0.0 {
                return Err("`calculate_loan_payment`: years must be positive".into());
            }
            let payment = if r == 0.0 {
                p / n
            } else {
                p * r / (1.0 - (1.0 + r).powf(-n))
            };
            json!({"monthly_payment": round(payment, 2)})
        }
        "calculate_tip" => {
            let tip = round(
                a.float("bill_amount") * a.int("tip_percent") as f64 / 100.0,
                2,
            );
            json!({"tip": tip, "total": round(a.float("bill_amount") + tip, 2)})
        }
        "split_bill" => {
            let people = a.int("people");
            if people <= 0 {
                return Err("`split_bill`: people must be positive".into());
            }
            json!({"per_person": round(a.float("total") / people as f64, 2)})
        }
        "send_email" => json!({
            "sent": true,
            "to": a.str("to"),
            "message_id": format!("M{:08}", a.draw("id", 100_000_000)),
        }),
        "create_reminder" => json!({"created": true, "task": a.str("task"), "time": a.str("time")}),
        "schedule_meeting" => json!({
            "scheduled": true,
            "date": a.str("date"),
            "duration_minutes": a.int("duration_minutes"),
            "meeting_id": format!("E{:06}", a.draw("id", 1_000_000)),
        }),
        "set_timer" => json!({"set": true, "minutes": a.int("minutes")}),
        "add_todo" => json!({"added": true, "task": a.str("task"), "priority": a.str("priority")}),
        "track_package" => {
            let status = [
                "in transit",
                "out for delivery",
                "delivered",
                "at the depot",
            ][a.draw("status", 4) as usize];
            json!({"tracking_number": a.str("tracking_number"), "status": status, "days_left": a.draw("days", 6)})
        }
        "search_movies" => {
            let count = 1 + a.draw("count", 3);
            let titles: Vec<String> = (0..count)
                .map(|i| {
                    format!(
                        "{} {} #{}",
                        a.str("genre"),
                        a.int("year"),
                        1 + a.draw(&format!("t{i}"), 99)
                    )
                })
                .collect();
            json!({"movies": titles})
        }
        "get_news" => {
            let headlines: Vec<String> = (0..a.int("limit").clamp(1, 20))
                .map(|i| {
                    format!(
                        "{} story {}",
                        a.str("topic"),
                        1 + a.draw(&format!("h{i}"), 999)
                    )
                })
                .collect();
            json!({"headlines": headlines})
        }
        "play_music" => json!({"playing": a.str("artist"), "shuffle": a.bool("shuffle")}),
        "get_recipe" => json!({
            "dish": a.str("dish"),
            "servings": a.int("servings"),
            "vegetarian": a.bool("vegetarian"),
            "minutes": 10 + 5 * a.draw("minutes", 20),
        }),
        other => return Err(format!("`{other}` has no implementation")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: Value) -> Result<Value, String> {
        execute(name, args.as_object().unwrap())
    }

    #[test]
    fn every_catalogue_function_runs_on_its_defaults_and_typical_values() {
        // One value per type, inside every catalogue range.
        for tool in tools() {
            let name = tool["name"].as_str().unwrap();
            let f = catalogue::all()
                .into_iter()
                .find(|f| f.name == name)
                .unwrap();
            let mut args = Map::new();
            for p in f.params.iter().filter(|p| p.default.is_none()) {
                let v = match &p.ty {
                    Ty::Int { lo, .. } => json!(lo),
                    Ty::Float { lo, .. } => json!(*lo as f64 + 0.5),
                    Ty::Text(pool) => json!(pool[0]),
                    Ty::Code { prefix, .. } => json!(format!("{prefix}123")),
                    Ty::Choice(words) => json!(words[0]),
                    Ty::Flag { .. } => json!(true),
                    Ty::Ints { lo, .. } => json!([lo, lo + 1]),
                    Ty::Texts { pool, .. } => json!([pool[0]]),
                };
                args.insert(p.name.into(), v);
            }
            let result = execute(name, &args).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(result.is_object(), "{name}: {result}");
            assert_eq!(
                execute(name, &args).unwrap(),
                result,
                "{name} is not deterministic"
            );
        }
    }

    #[test]
    fn arithmetic_and_text_functions_compute_the_true_answer() {
        assert_eq!(
            call("calculate_factorial", json!({"n": 5})).unwrap(),
            json!({"factorial": 120})
        );
        assert_eq!(
            call("is_prime", json!({"number": 97})).unwrap()["is_prime"],
            true
        );
        assert_eq!(
            call("is_prime", json!({"number": 91})).unwrap()["is_prime"],
            false
        );
        assert_eq!(
            call("greatest_common_divisor", json!({"a": 84, "b": 36})).unwrap(),
            json!({"gcd": 12})
        );
        assert_eq!(
            call("calculate_average", json!({"numbers": [1, 2, 4]})).unwrap()["average"],
            2.3333
        );
        assert_eq!(
            call("fibonacci_number", json!({"n": 10})).unwrap(),
            json!({"fibonacci": 55})
        );
        assert_eq!(
            call("get_range", json!({"start": 2, "end": 9, "step": 3})).unwrap(),
            json!({"numbers": [2, 5, 8]})
        );
        assert_eq!(
            call("round_number", json!({"value": 2.675})).unwrap(),
            json!({"rounded": 3.0})
        );
        assert_eq!(
            call("reverse_words", json!({"text": "a b c"})).unwrap(),
            json!({"text": "c b a"})
        );
        assert_eq!(
            call("count_vowels", json!({"text": "the quick brown fox"})).unwrap(),
            json!({"vowels": 5})
        );
        assert_eq!(
            call("calculate_tip", json!({"bill_amount": 40.0})).unwrap(),
            json!({"tip": 6.0, "total": 46.0})
        );
        assert_eq!(
            call("split_bill", json!({"people": 4, "total": 90.5})).unwrap(),
            json!({"per_person": 22.63})
        );
    }

    #[test]
    fn bad_arguments_are_explained_in_words_the_model_can_act_on() {
        let err = call("calculate_factorial", json!({})).unwrap_err();
        assert_eq!(err, "`calculate_factorial` needs the argument `n`");
        let err = call("calculate_factorial", json!({"n": "5"})).unwrap_err();
        assert_eq!(
            err,
            "`calculate_factorial`: `n` must be of type int, not \"5\""
        );
        let err = call("get_weather", json!({"city": "Oslo", "unit": "kelvin"})).unwrap_err();
        assert!(err.contains("must be one of celsius, fahrenheit"), "{err}");
        let err = call("get_weather", json!({"town": "Oslo"})).unwrap_err();
        assert!(err.contains("no parameter `town`"), "{err}");
        assert_eq!(
            call("fly", json!({})).unwrap_err(),
            "unknown function `fly`"
        );
    }

    #[test]
    fn schemas_list_required_parameters_and_forbid_others() {
        let tools = tools();
        let weather = tools.iter().find(|t| t["name"] == "get_weather").unwrap();
        let schema = &weather["inputSchema"];
        assert_eq!(schema["required"], json!(["city"]));
        assert_eq!(
            schema["properties"]["unit"]["enum"],
            json!(["celsius", "fahrenheit"])
        );
        assert_eq!(schema["properties"]["unit"]["default"], "celsius");
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(tools.len(), catalogue::all().len());
    }
}
