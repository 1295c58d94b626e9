//! Mail, calendar and task functions.

use super::pools::{DATES, EMAILS, PEOPLE, SUBJECTS, TASKS, TIMES};
use crate::synth::catalogue::{Default, Domain, Function, Param, Ty};

pub(crate) const FUNCTIONS: &[Function] = &[
    Function {
        name: "send_email",
        description: "Sends an email.",
        domain: Domain::Office,
        params: &[
            Param {
                name: "subject",
                description: "The subject line.",
                ty: Ty::Text(SUBJECTS),
                default: None,
            },
            Param {
                name: "to",
                description: "The recipient's address.",
                ty: Ty::Text(EMAILS),
                default: None,
            },
            Param {
                name: "urgent",
                description: "Whether to flag the email as urgent.",
                ty: Ty::Flag {
                    yes: "flag it as urgent",
                    no: "it is not urgent",
                },
                default: Some(Default::Bool(false)),
            },
        ],
        templates: &[
            "Send an email to {to} with the subject \"{subject}\".",
            "Email {to} about \"{subject}\".",
            "Write to {to} with subject \"{subject}\" and {urgent}.",
            "Send {to} a message titled \"{subject}\"; {urgent}.",
        ],
    },
    Function {
        name: "create_reminder",
        description: "Creates a reminder at a time of day.",
        domain: Domain::Office,
        params: &[
            Param {
                name: "task",
                description: "What to be reminded of.",
                ty: Ty::Text(TASKS),
                default: None,
            },
            Param {
                name: "time",
                description: "Time of day, HH:MM.",
                ty: Ty::Text(TIMES),
                default: None,
            },
        ],
        templates: &[
            "Remind me to {task} at {time}.",
            "Set a reminder at {time} to {task}.",
            "At {time}, remind me: {task}.",
        ],
    },
    Function {
        name: "schedule_meeting",
        description: "Schedules a meeting with some people on a date.",
        domain: Domain::Office,
        params: &[
            Param {
                name: "attendees",
                description: "Who to invite.",
                ty: Ty::Texts {
                    pool: PEOPLE,
                    min: 1,
                    max: 3,
                },
                default: None,
            },
            Param {
                name: "date",
                description: "The date, YYYY-MM-DD.",
                ty: Ty::Text(DATES),
                default: None,
            },
            Param {
                name: "duration_minutes",
                description: "Length of the meeting in minutes.",
                ty: Ty::Int { lo: 15, hi: 120 },
                default: Some(Default::Int(30)),
            },
        ],
        templates: &[
            "Schedule a meeting with {attendees} on {date}.",
            "Set up a {duration_minutes}-minute meeting with {attendees} on {date}.",
            "Book time with {attendees} on {date} for {duration_minutes} minutes.",
        ],
    },
    Function {
        name: "set_timer",
        description: "Starts a countdown timer.",
        domain: Domain::Office,
        params: &[Param {
            name: "minutes",
            description: "Length of the timer in minutes.",
            ty: Ty::Int { lo: 1, hi: 120 },
            default: None,
        }],
        templates: &[
            "Set a timer for {minutes} minutes.",
            "Start a {minutes}-minute countdown.",
            "Can you time {minutes} minutes for me?",
        ],
    },
    Function {
        name: "add_todo",
        description: "Adds a task to the to-do list.",
        domain: Domain::Office,
        params: &[
            Param {
                name: "priority",
                description: "How important the task is.",
                ty: Ty::Choice(&["low", "medium", "high"]),
                default: Some(Default::Str("medium")),
            },
            Param {
                name: "task",
                description: "The task.",
                ty: Ty::Text(TASKS),
                default: None,
            },
        ],
        templates: &[
            "Add \"{task}\" to my to-do list.",
            "Put {task} on my list with {priority} priority.",
            "New to-do: {task}, priority {priority}.",
        ],
    },
    Function {
        name: "track_package",
        description: "Gets the delivery status of a parcel.",
        domain: Domain::Office,
        params: &[Param {
            name: "tracking_number",
            description: "The carrier's tracking number.",
            ty: Ty::Code {
                prefix: "TRK",
                digits: 6,
            },
            default: None,
        }],
        templates: &[
            "Where is my package {tracking_number}?",
            "Track the parcel with number {tracking_number}.",
            "What's the delivery status of {tracking_number}?",
        ],
    },
];
