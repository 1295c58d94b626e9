//! Weather, time and travel functions.

use super::pools::{CITIES, DATES};
use crate::synth::catalogue::{Default, Domain, Function, Param, Ty};

pub(crate) const FUNCTIONS: &[Function] = &[
    Function {
        name: "get_weather",
        description: "Gets the current weather in a city.",
        domain: Domain::Travel,
        params: &[
            Param {
                name: "city",
                description: "The city name.",
                ty: Ty::Text(CITIES),
                default: None,
            },
            Param {
                name: "unit",
                description: "The temperature unit.",
                ty: Ty::Choice(&["celsius", "fahrenheit"]),
                default: Some(Default::Str("celsius")),
            },
        ],
        templates: &[
            "What's the weather like in {city}?",
            "How is the weather in {city} right now?",
            "Tell me the current weather in {city} in {unit}.",
            "What is the temperature in {city}? Use {unit}.",
        ],
    },
    Function {
        name: "get_forecast",
        description: "Gets the weather forecast for the coming days.",
        domain: Domain::Travel,
        params: &[
            Param {
                name: "city",
                description: "The city name.",
                ty: Ty::Text(CITIES),
                default: None,
            },
            Param {
                name: "days",
                description: "How many days ahead.",
                ty: Ty::Int { lo: 1, hi: 14 },
                default: None,
            },
        ],
        templates: &[
            "Give me the {days}-day forecast for {city}.",
            "What will the weather be in {city} over the next {days} days?",
            "Forecast {city} for {days} days.",
        ],
    },
    Function {
        name: "find_flights",
        description: "Searches flights between two cities on a date.",
        domain: Domain::Travel,
        params: &[
            Param {
                name: "date",
                description: "Departure date, YYYY-MM-DD.",
                ty: Ty::Text(DATES),
                default: None,
            },
            Param {
                name: "destination",
                description: "Arrival city.",
                ty: Ty::Text(CITIES),
                default: None,
            },
            Param {
                name: "nonstop",
                description: "Whether to show only nonstop flights.",
                ty: Ty::Flag {
                    yes: "nonstop flights only",
                    no: "flights with stops too",
                },
                default: Some(Default::Bool(false)),
            },
            Param {
                name: "origin",
                description: "Departure city.",
                ty: Ty::Text(CITIES),
                default: None,
            },
        ],
        templates: &[
            "Find flights from {origin} to {destination} on {date}.",
            "Find {nonstop} from {origin} to {destination} on {date}.",
            "I need to fly {origin} to {destination} on {date}, {nonstop}.",
        ],
    },
    Function {
        name: "book_hotel",
        description: "Books a hotel room in a city.",
        domain: Domain::Travel,
        params: &[
            Param {
                name: "city",
                description: "The city.",
                ty: Ty::Text(CITIES),
                default: None,
            },
            Param {
                name: "guests",
                description: "Number of guests.",
                ty: Ty::Int { lo: 2, hi: 6 },
                default: Some(Default::Int(1)),
            },
            Param {
                name: "nights",
                description: "Number of nights.",
                ty: Ty::Int { lo: 1, hi: 14 },
                default: None,
            },
        ],
        templates: &[
            "Book a hotel in {city} for {nights} nights.",
            "I need a room in {city} for {nights} nights for {guests} guests.",
            "Reserve {nights} nights at a hotel in {city}.",
        ],
    },
    Function {
        name: "get_local_time",
        description: "Gets the current time in a time zone.",
        domain: Domain::Travel,
        params: &[Param {
            name: "timezone",
            description: "The time zone.",
            ty: Ty::Choice(&["UTC", "EST", "PST", "CET", "JST", "IST"]),
            default: None,
        }],
        templates: &[
            "What time is it in {timezone}?",
            "Tell me the current time in the {timezone} time zone.",
        ],
    },
    Function {
        name: "get_distance",
        description: "Gets the travel distance between two cities.",
        domain: Domain::Travel,
        params: &[
            Param {
                name: "destination",
                description: "The second city.",
                ty: Ty::Text(CITIES),
                default: None,
            },
            Param {
                name: "origin",
                description: "The first city.",
                ty: Ty::Text(CITIES),
                default: None,
            },
            Param {
                name: "unit",
                description: "Distance unit.",
                ty: Ty::Choice(&["km", "miles"]),
                default: Some(Default::Str("km")),
            },
        ],
        templates: &[
            "How far is {origin} from {destination}?",
            "What is the distance between {origin} and {destination}?",
            "How many {unit} is it from {origin} to {destination}?",
        ],
    },
];
