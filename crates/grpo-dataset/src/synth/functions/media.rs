//! News, music, film and food functions.

use super::pools::{ARTISTS, DISHES};
use crate::synth::catalogue::{Default, Domain, Function, Param, Ty};

pub(crate) const FUNCTIONS: &[Function] = &[
    Function {
        name: "search_movies",
        description: "Finds movies of a genre released in a year.",
        domain: Domain::Media,
        params: &[
            Param {
                name: "genre",
                description: "The film genre.",
                ty: Ty::Choice(&[
                    "comedy",
                    "drama",
                    "horror",
                    "thriller",
                    "romance",
                    "animation",
                ]),
                default: None,
            },
            Param {
                name: "year",
                description: "The release year.",
                ty: Ty::Int { lo: 1980, hi: 2024 },
                default: None,
            },
        ],
        templates: &[
            "Find {genre} movies from {year}.",
            "Which {genre} films came out in {year}?",
            "Recommend a {genre} movie released in {year}.",
        ],
    },
    Function {
        name: "get_news",
        description: "Gets the latest headlines on a topic.",
        domain: Domain::Media,
        params: &[
            Param {
                name: "limit",
                description: "How many headlines to return.",
                ty: Ty::Int { lo: 1, hi: 20 },
                default: Some(Default::Int(5)),
            },
            Param {
                name: "topic",
                description: "The news topic.",
                ty: Ty::Choice(&[
                    "technology",
                    "sports",
                    "politics",
                    "science",
                    "business",
                    "health",
                ]),
                default: None,
            },
        ],
        templates: &[
            "What's the latest news in {topic}?",
            "Show me {limit} headlines about {topic}.",
            "Give me the top {limit} {topic} stories.",
        ],
    },
    Function {
        name: "play_music",
        description: "Plays songs by an artist.",
        domain: Domain::Media,
        params: &[
            Param {
                name: "artist",
                description: "The artist or band.",
                ty: Ty::Text(ARTISTS),
                default: None,
            },
            Param {
                name: "shuffle",
                description: "Whether to shuffle the songs.",
                ty: Ty::Flag {
                    yes: "on shuffle",
                    no: "in order",
                },
                default: Some(Default::Bool(false)),
            },
        ],
        templates: &[
            "Play some {artist}.",
            "Put on music by {artist}.",
            "Play {artist} songs {shuffle}.",
        ],
    },
    Function {
        name: "get_recipe",
        description: "Finds a recipe for a dish.",
        domain: Domain::Media,
        params: &[
            Param {
                name: "dish",
                description: "The dish to cook.",
                ty: Ty::Text(DISHES),
                default: None,
            },
            Param {
                name: "servings",
                description: "How many people to cook for.",
                ty: Ty::Int { lo: 1, hi: 12 },
                default: Some(Default::Int(2)),
            },
            Param {
                name: "vegetarian",
                description: "Whether the recipe must be vegetarian.",
                ty: Ty::Flag {
                    yes: "vegetarian",
                    no: "non-vegetarian",
                },
                default: Some(Default::Bool(false)),
            },
        ],
        templates: &[
            "How do I make {dish}?",
            "Find me a {vegetarian} {dish} recipe.",
            "Give me a recipe for {dish} that serves {servings}.",
            "I want to cook {vegetarian} {dish} for {servings} people.",
        ],
    },
];
