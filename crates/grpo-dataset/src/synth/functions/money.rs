//! Money functions.

use super::pools::{CURRENCIES, SYMBOLS};
use crate::synth::catalogue::{Default, Domain, Function, Param, Ty};

pub(crate) const FUNCTIONS: &[Function] = &[
    Function {
        name: "convert_currency",
        description: "Converts an amount from one currency to another.",
        domain: Domain::Money,
        params: &[
            Param {
                name: "amount",
                description: "The amount to convert.",
                ty: Ty::Float { lo: 1, hi: 5000, decimals: 2 },
                default: None,
            },
            Param {
                name: "from_currency",
                description: "The currency code to convert from.",
                ty: Ty::Choice(CURRENCIES),
                default: None,
            },
            Param {
                name: "to_currency",
                description: "The currency code to convert to.",
                ty: Ty::Choice(CURRENCIES),
                default: None,
            },
        ],
        templates: &[
            "Convert {amount} {from_currency} to {to_currency}.",
            "How much is {amount} {from_currency} in {to_currency}?",
            "Exchange {amount} {from_currency} into {to_currency} for me.",
        ],
    },
    Function {
        name: "get_stock_price",
        description: "Gets the latest price of a stock.",
        domain: Domain::Money,
        params: &[Param {
            name: "symbol",
            description: "The ticker symbol.",
            ty: Ty::Choice(SYMBOLS),
            default: None,
        }],
        templates: &[
            "What is the current stock price of {symbol}?",
            "How much is {symbol} trading at?",
            "Get me the latest quote for {symbol}.",
        ],
    },
    Function {
        name: "calculate_loan_payment",
        description: "Computes the monthly payment of a loan.",
        domain: Domain::Money,
        params: &[
            Param {
                name: "annual_rate",
                description: "Yearly interest rate in percent.",
                ty: Ty::Float { lo: 1, hi: 12, decimals: 1 },
                default: None,
            },
            Param {
                name: "principal",
                description: "The amount borrowed.",
                ty: Ty::Int { lo: 1000, hi: 500_000 },
                default: None,
            },
            Param {
                name: "years",
                description: "The term in years.",
                ty: Ty::Int { lo: 1, hi: 30 },
                default: None,
            },
        ],
        templates: &[
            "What is the monthly payment on a {principal} loan at {annual_rate}% over {years} years?",
            "I borrow {principal} for {years} years at {annual_rate} percent. What do I pay each month?",
            "Compute the monthly installment for a loan of {principal}, rate {annual_rate}%, term {years} years.",
        ],
    },
    Function {
        name: "calculate_tip",
        description: "Computes the tip for a bill.",
        domain: Domain::Money,
        params: &[
            Param {
                name: "bill_amount",
                description: "The bill total.",
                ty: Ty::Float { lo: 5, hi: 400, decimals: 2 },
                default: None,
            },
            Param {
                name: "tip_percent",
                description: "The tip in percent.",
                ty: Ty::Int { lo: 5, hi: 30 },
                default: Some(Default::Int(15)),
            },
        ],
        templates: &[
            "How much should I tip on a bill of {bill_amount}?",
            "What is a {tip_percent}% tip on {bill_amount}?",
            "Calculate the tip for a {bill_amount} bill at {tip_percent} percent.",
        ],
    },
    Function {
        name: "split_bill",
        description: "Splits a bill evenly between people.",
        domain: Domain::Money,
        params: &[
            Param {
                name: "people",
                description: "How many people share the bill.",
                ty: Ty::Int { lo: 2, hi: 12 },
                default: None,
            },
            Param {
                name: "total",
                description: "The bill total.",
                ty: Ty::Float { lo: 10, hi: 900, decimals: 2 },
                default: None,
            },
        ],
        templates: &[
            "Split a bill of {total} between {people} people.",
            "We are {people} friends and the check is {total}. How much does each pay?",
            "Divide {total} evenly among {people} people.",
        ],
    },
];
