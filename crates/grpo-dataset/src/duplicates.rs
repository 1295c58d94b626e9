//! Finding records that repeat a prompt.
//!
//! A repeated prompt is not an error (sources repeat queries on purpose),
//! but it leaks between splits and weighs an example twice, so loading
//! reports it.

use std::collections::HashMap;

use crate::record::Example;

/// A record whose prompt already appeared earlier in the same list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duplicate {
    /// Index of the repeating record.
    pub index: usize,
    /// Index of the first record with the same prompt.
    pub first: usize,
}

/// Every record that repeats the prompt of an earlier one, in order.
pub fn find_duplicates(examples: &[Example]) -> Vec<Duplicate> {
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(examples.len());
    let mut found = Vec::new();
    for (index, ex) in examples.iter().enumerate() {
        if let Some(&first) = seen.get(ex.prompt.as_str()) {
            found.push(Duplicate { index, first });
        } else {
            seen.insert(&ex.prompt, index);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_each_repeat_against_the_first() {
        let ex = |p: &str| Example {
            prompt: p.into(),
            ..Example::default()
        };
        let list = [ex("a"), ex("b"), ex("a"), ex("a"), ex("c")];
        assert_eq!(
            find_duplicates(&list),
            vec![
                Duplicate { index: 2, first: 0 },
                Duplicate { index: 3, first: 0 }
            ]
        );
    }
}
