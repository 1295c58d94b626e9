//! Value pools. Every entry is short and distinct so that it is easy to
//! find in a query and cheap in tokens.

pub(crate) const CITIES: &[&str] = &[
    "Paris", "Tokyo", "Berlin", "Madrid", "Cairo", "Lima", "Oslo", "Toronto", "Sydney", "Nairobi",
    "Seoul", "Dublin", "Chicago", "Mumbai", "Lisbon", "Denver", "Rome", "Vienna", "Austin",
    "Bogota",
];

pub(crate) const PEOPLE: &[&str] = &[
    "Alice", "Bob", "Carlos", "Dana", "Elena", "Farah", "George", "Hana", "Ivan", "Julia", "Kenji",
    "Lena", "Marco", "Nora", "Omar", "Priya",
];

pub(crate) const EMAILS: &[&str] = &[
    "alice@example.com",
    "bob@example.org",
    "carlos@mail.com",
    "dana@work.io",
    "elena@example.net",
    "farah@team.dev",
    "george@mail.com",
    "hana@example.com",
];

pub(crate) const PHRASES: &[&str] = &[
    "hello brave new world",
    "the quick brown fox",
    "good morning everyone",
    "keep calm and carry on",
    "data beats opinions",
    "practice makes perfect",
    "time flies like an arrow",
    "small steps every day",
    "the rain in spain",
    "never stop learning",
];

pub(crate) const WORDS: &[&str] = &[
    "racecar", "level", "banana", "planet", "rotor", "window", "kayak", "garden", "civic",
    "pencil", "radar", "orange",
];

pub(crate) const DATES: &[&str] = &[
    "2024-03-15",
    "2024-07-01",
    "2024-11-20",
    "2025-01-09",
    "2025-02-14",
    "2025-05-30",
    "2025-08-22",
    "2025-12-05",
];

pub(crate) const TIMES: &[&str] = &[
    "08:00", "09:30", "12:15", "14:45", "17:00", "19:30", "21:10",
];

pub(crate) const SUBJECTS: &[&str] = &[
    "Quarterly report",
    "Lunch plans",
    "Project update",
    "Invoice 42",
    "Team offsite",
    "Budget review",
];

pub(crate) const TASKS: &[&str] = &[
    "buy groceries",
    "call the dentist",
    "renew passport",
    "water the plants",
    "pay rent",
    "book a haircut",
];

pub(crate) const DISHES: &[&str] = &[
    "lasagna", "pad thai", "pancakes", "risotto", "tacos", "curry", "paella", "ramen",
];

pub(crate) const ARTISTS: &[&str] = &[
    "Adele",
    "Coldplay",
    "Queen",
    "Shakira",
    "Drake",
    "Beyonce",
    "Metallica",
    "Rihanna",
];

pub(crate) const CURRENCIES: &[&str] = &["USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF"];

pub(crate) const LANGUAGES: &[&str] = &[
    "French",
    "German",
    "Spanish",
    "Italian",
    "Japanese",
    "Portuguese",
];

pub(crate) const SYMBOLS: &[&str] = &["AAPL", "MSFT", "GOOG", "AMZN", "TSLA", "NVDA", "META"];
