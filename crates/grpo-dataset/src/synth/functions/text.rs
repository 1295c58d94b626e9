//! Text functions.

use super::pools::{LANGUAGES, PHRASES, WORDS};
use crate::synth::catalogue::{Default, Domain, Function, Param, Ty};

pub(crate) const FUNCTIONS: &[Function] = &[
    Function {
        name: "reverse_words",
        description: "Reverses the order of the words in a sentence.",
        domain: Domain::Text,
        params: &[Param {
            name: "text",
            description: "The sentence.",
            ty: Ty::Text(PHRASES),
            default: None,
        }],
        templates: &[
            "Reverse the words in \"{text}\".",
            "Can you flip the word order of \"{text}\"?",
            "Write \"{text}\" with its words in reverse order.",
        ],
    },
    Function {
        name: "count_vowels",
        description: "Counts the vowels in a piece of text.",
        domain: Domain::Text,
        params: &[Param {
            name: "text",
            description: "The text to scan.",
            ty: Ty::Text(PHRASES),
            default: None,
        }],
        templates: &[
            "How many vowels are in \"{text}\"?",
            "Count the vowels in the phrase \"{text}\".",
        ],
    },
    Function {
        name: "is_palindrome",
        description: "Checks whether a word reads the same backwards.",
        domain: Domain::Text,
        params: &[Param {
            name: "word",
            description: "The word to check.",
            ty: Ty::Text(WORDS),
            default: None,
        }],
        templates: &[
            "Is \"{word}\" a palindrome?",
            "Check if the word {word} reads the same backwards.",
            "Does {word} spell the same in reverse?",
        ],
    },
    Function {
        name: "translate_text",
        description: "Translates text into another language.",
        domain: Domain::Text,
        params: &[
            Param {
                name: "formal",
                description: "Whether to use a formal register.",
                ty: Ty::Flag {
                    yes: "in a formal tone",
                    no: "in a casual tone",
                },
                default: Some(Default::Bool(false)),
            },
            Param {
                name: "target_language",
                description: "The language to translate into.",
                ty: Ty::Choice(LANGUAGES),
                default: None,
            },
            Param {
                name: "text",
                description: "The text to translate.",
                ty: Ty::Text(PHRASES),
                default: None,
            },
        ],
        templates: &[
            "Translate \"{text}\" into {target_language}.",
            "How do you say \"{text}\" in {target_language}?",
            "Translate \"{text}\" into {target_language} {formal}.",
            "Please put \"{text}\" into {target_language}, {formal}.",
        ],
    },
    Function {
        name: "count_words",
        description: "Counts the words in a piece of text.",
        domain: Domain::Text,
        params: &[Param {
            name: "text",
            description: "The text to count.",
            ty: Ty::Text(PHRASES),
            default: None,
        }],
        templates: &[
            "How many words does \"{text}\" have?",
            "Give me the word count of \"{text}\".",
        ],
    },
    Function {
        name: "define_word",
        description: "Looks up the dictionary definition of a word.",
        domain: Domain::Text,
        params: &[
            Param {
                name: "include_examples",
                description: "Whether to add example sentences.",
                ty: Ty::Flag {
                    yes: "with example sentences",
                    no: "without example sentences",
                },
                default: Some(Default::Bool(false)),
            },
            Param {
                name: "word",
                description: "The word to define.",
                ty: Ty::Text(WORDS),
                default: None,
            },
        ],
        templates: &[
            "What does the word {word} mean?",
            "Define \"{word}\".",
            "Define the word {word} {include_examples}.",
            "Look up {word} in the dictionary, {include_examples}.",
        ],
    },
];
