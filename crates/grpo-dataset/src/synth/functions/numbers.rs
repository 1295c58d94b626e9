//! Arithmetic and number functions.

use crate::synth::catalogue::{Default, Domain, Function, Param, Ty};

pub(crate) const FUNCTIONS: &[Function] = &[
    Function {
        name: "calculate_factorial",
        description: "Calculates the factorial of a non-negative integer.",
        domain: Domain::Numbers,
        params: &[Param {
            name: "n",
            description: "The non-negative integer.",
            ty: Ty::Int { lo: 0, hi: 20 },
            default: None,
        }],
        templates: &[
            "What is the factorial of {n}?",
            "Calculate the factorial of {n}.",
            "Can you compute {n} factorial for me?",
            "Find the factorial of the number {n}.",
        ],
    },
    Function {
        name: "is_prime",
        description: "Checks whether an integer is a prime number.",
        domain: Domain::Numbers,
        params: &[Param {
            name: "number",
            description: "The integer to test.",
            ty: Ty::Int { lo: 2, hi: 9999 },
            default: None,
        }],
        templates: &[
            "Is {number} a prime number?",
            "Check whether {number} is prime.",
            "Tell me if {number} is a prime.",
        ],
    },
    Function {
        name: "greatest_common_divisor",
        description: "Finds the greatest common divisor of two integers.",
        domain: Domain::Numbers,
        params: &[
            Param {
                name: "a",
                description: "The first integer.",
                ty: Ty::Int { lo: 2, hi: 500 },
                default: None,
            },
            Param {
                name: "b",
                description: "The second integer.",
                ty: Ty::Int { lo: 2, hi: 500 },
                default: None,
            },
        ],
        templates: &[
            "What is the greatest common divisor of {a} and {b}?",
            "Find the GCD of {a} and {b}.",
            "Compute the largest number that divides both {a} and {b}.",
        ],
    },
    Function {
        name: "calculate_average",
        description: "Returns the arithmetic mean of a list of numbers.",
        domain: Domain::Numbers,
        params: &[Param {
            name: "numbers",
            description: "The numbers to average.",
            ty: Ty::Ints {
                lo: 1,
                hi: 100,
                min: 2,
                max: 5,
            },
            default: None,
        }],
        templates: &[
            "What is the average of {numbers}?",
            "Compute the mean of {numbers}.",
            "Average these numbers for me: {numbers}.",
        ],
    },
    Function {
        name: "calculate_power",
        description: "Raises a base to an integer exponent.",
        domain: Domain::Numbers,
        params: &[
            Param {
                name: "base",
                description: "The base.",
                ty: Ty::Int { lo: 2, hi: 20 },
                default: None,
            },
            Param {
                name: "exponent",
                description: "The exponent.",
                ty: Ty::Int { lo: 2, hi: 10 },
                default: None,
            },
        ],
        templates: &[
            "What is {base} to the power of {exponent}?",
            "Raise {base} to the power {exponent}.",
            "Compute {base} raised to {exponent}.",
        ],
    },
    Function {
        name: "fibonacci_number",
        description: "Returns the n-th Fibonacci number.",
        domain: Domain::Numbers,
        params: &[Param {
            name: "n",
            description: "The position in the sequence, from 1.",
            ty: Ty::Int { lo: 1, hi: 60 },
            default: None,
        }],
        templates: &[
            "What is Fibonacci number {n}?",
            "Give me the Fibonacci number at position {n}.",
            "Compute the value at index {n} of the Fibonacci sequence.",
        ],
    },
    Function {
        name: "get_range",
        description: "Lists the integers from start to end, inclusive.",
        domain: Domain::Numbers,
        params: &[
            Param {
                name: "end",
                description: "The last integer.",
                ty: Ty::Int { lo: 20, hi: 100 },
                default: None,
            },
            Param {
                name: "start",
                description: "The first integer.",
                ty: Ty::Int { lo: 0, hi: 19 },
                default: None,
            },
            Param {
                name: "step",
                description: "The difference between neighbours.",
                ty: Ty::Int { lo: 2, hi: 9 },
                default: Some(Default::Int(1)),
            },
        ],
        templates: &[
            "List the numbers from {start} to {end}.",
            "Give me every integer between {start} and {end}.",
            "Count from {start} to {end} in steps of {step}.",
            "List the numbers from {start} up to {end}, going up by {step}.",
        ],
    },
    Function {
        name: "round_number",
        description: "Rounds a number to a given count of decimals.",
        domain: Domain::Numbers,
        params: &[
            Param {
                name: "decimals",
                description: "How many decimals to keep.",
                ty: Ty::Int { lo: 1, hi: 3 },
                default: Some(Default::Int(0)),
            },
            Param {
                name: "value",
                description: "The number to round.",
                ty: Ty::Float {
                    lo: 0,
                    hi: 1000,
                    decimals: 4,
                },
                default: None,
            },
        ],
        templates: &[
            "Round {value} to the nearest whole number.",
            "Round {value}.",
            "Round {value} to {decimals} decimal places.",
            "Please round {value}, keeping {decimals} decimals.",
        ],
    },
    Function {
        name: "calculate_bmi",
        description: "Computes the body mass index from weight and height.",
        domain: Domain::Numbers,
        params: &[
            Param {
                name: "height_m",
                description: "Height in meters.",
                ty: Ty::Float {
                    lo: 1,
                    hi: 2,
                    decimals: 2,
                },
                default: None,
            },
            Param {
                name: "weight_kg",
                description: "Weight in kilograms.",
                ty: Ty::Float {
                    lo: 40,
                    hi: 130,
                    decimals: 1,
                },
                default: None,
            },
        ],
        templates: &[
            "What is the BMI of someone who weighs {weight_kg} kg and is {height_m} m tall?",
            "Calculate my body mass index: {weight_kg} kilograms, {height_m} meters.",
            "I am {height_m} m tall and weigh {weight_kg} kg. What's my BMI?",
        ],
    },
];
