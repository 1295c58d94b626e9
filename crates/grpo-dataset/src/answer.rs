//! Reading the function names an answer calls: the one place where answer
//! text is parsed, through the rewards' parser, so that an answer this crate
//! accepts is exactly one the rewards can score against.

use grpo_rewards::{Error as RewardsError, Reference};

/// The names of the functions `answer` calls, in order, or why it does not
/// parse as calls.
pub(crate) fn called_functions(answer: &str) -> Result<Vec<String>, String> {
    match Reference::from_answer(answer) {
        Ok(reference) => Ok(reference.calls().iter().map(|c| c.name.clone()).collect()),
        Err(RewardsError::InvalidAnswer { problem, .. }) => Err(problem.to_string()),
        Err(other) => Err(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_order_from_the_guides_syntax() {
        assert_eq!(
            called_functions("calculate_factorial(n=5)\nreverse_words(text=\"a b\")").unwrap(),
            ["calculate_factorial", "reverse_words"]
        );
    }

    #[test]
    fn prose_and_broken_calls_are_rejected() {
        assert!(called_functions("Sure! I would call the function.").is_err());
        assert!(called_functions("calculate_factorial(n=").is_err());
    }
}
