//! A tiny exact arithmetic language for the model's formulas.
//!
//! Each output is computed by evaluating the very text that reports show
//! (`raw_audio × replication`), so the formula printed beside a number can
//! never drift from the code that produced it.
//!
//! Grammar: `+ - × / ( ) ,`, decimal literals, names, `ceil(x)` and
//! `max(a, b, ...)`. `*` and `-` are accepted for `×` and `−`.

use crate::ratio::Ratio;

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Num(Ratio),
    Name(String),
    Plus,
    Minus,
    Times,
    Divide,
    Open,
    Close,
    Comma,
}

#[derive(Clone, Debug)]
enum Expr {
    Num(Ratio),
    Name(String),
    Add(Box<Expr>, Box<Expr>),
    Sub(Box<Expr>, Box<Expr>),
    Mul(Box<Expr>, Box<Expr>),
    Div(Box<Expr>, Box<Expr>),
    Ceil(Box<Expr>),
    Max(Vec<Expr>),
}

/// Why evaluation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EvalError {
    UnknownName(String),
    Overflow,
    DivideByZero,
    Negative,
}

/// A parsed formula.
#[derive(Clone, Debug)]
pub struct Formula {
    expr: Expr,
    names: Vec<String>,
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let single = match c {
            '+' => Some(Token::Plus),
            '-' | '−' => Some(Token::Minus),
            '×' | '*' => Some(Token::Times),
            '/' => Some(Token::Divide),
            '(' => Some(Token::Open),
            ')' => Some(Token::Close),
            ',' => Some(Token::Comma),
            _ => None,
        };
        if let Some(token) = single {
            tokens.push(token);
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || c == '.' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit() || chars[i] == '.' || chars[i] == '_')
            {
                i += 1;
            }
            let literal: String = chars[start..i].iter().collect();
            tokens.push(Token::Num(Ratio::parse_decimal(&literal)?));
        } else if is_name_start(c) {
            let start = i;
            while i < chars.len() && is_name_char(chars[i]) {
                i += 1;
            }
            tokens.push(Token::Name(chars[start..i].iter().collect()));
        } else {
            return Err(format!("unexpected character '{c}'"));
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn expect(&mut self, wanted: Token) -> Result<(), String> {
        match self.next() {
            Some(token) if token == wanted => Ok(()),
            other => Err(format!("expected {wanted:?}, found {other:?}")),
        }
    }

    fn sum(&mut self) -> Result<Expr, String> {
        let mut left = self.product()?;
        loop {
            match self.peek() {
                Some(Token::Plus) => {
                    self.at += 1;
                    left = Expr::Add(Box::new(left), Box::new(self.product()?));
                }
                Some(Token::Minus) => {
                    self.at += 1;
                    left = Expr::Sub(Box::new(left), Box::new(self.product()?));
                }
                _ => return Ok(left),
            }
        }
    }

    fn product(&mut self) -> Result<Expr, String> {
        let mut left = self.atom()?;
        loop {
            match self.peek() {
                Some(Token::Times) => {
                    self.at += 1;
                    left = Expr::Mul(Box::new(left), Box::new(self.atom()?));
                }
                Some(Token::Divide) => {
                    self.at += 1;
                    left = Expr::Div(Box::new(left), Box::new(self.atom()?));
                }
                _ => return Ok(left),
            }
        }
    }

    fn atom(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Token::Num(value)) => Ok(Expr::Num(value)),
            Some(Token::Open) => {
                let inner = self.sum()?;
                self.expect(Token::Close)?;
                Ok(inner)
            }
            Some(Token::Name(name)) if self.peek() == Some(&Token::Open) => {
                self.at += 1;
                let mut args = vec![self.sum()?];
                while self.peek() == Some(&Token::Comma) {
                    self.at += 1;
                    args.push(self.sum()?);
                }
                self.expect(Token::Close)?;
                match (name.as_str(), args.len()) {
                    ("ceil", 1) => Ok(Expr::Ceil(Box::new(args.remove(0)))),
                    ("max", n) if n >= 2 => Ok(Expr::Max(args)),
                    _ => Err(format!(
                        "unknown function {name} with {} arguments",
                        args.len()
                    )),
                }
            }
            Some(Token::Name(name)) => Ok(Expr::Name(name)),
            other => Err(format!("expected a number, name or '(', found {other:?}")),
        }
    }
}

fn collect_names(expr: &Expr, names: &mut Vec<String>) {
    match expr {
        Expr::Num(_) => {}
        Expr::Name(name) => {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        Expr::Add(a, b) | Expr::Sub(a, b) | Expr::Mul(a, b) | Expr::Div(a, b) => {
            collect_names(a, names);
            collect_names(b, names);
        }
        Expr::Ceil(a) => collect_names(a, names),
        Expr::Max(args) => args.iter().for_each(|a| collect_names(a, names)),
    }
}

fn eval(expr: &Expr, lookup: &dyn Fn(&str) -> Option<Ratio>) -> Result<Ratio, EvalError> {
    let pair = |a: &Expr, b: &Expr| Ok::<_, EvalError>((eval(a, lookup)?, eval(b, lookup)?));
    match expr {
        Expr::Num(value) => Ok(*value),
        Expr::Name(name) => lookup(name).ok_or_else(|| EvalError::UnknownName(name.clone())),
        Expr::Add(a, b) => {
            let (a, b) = pair(a, b)?;
            a.checked_add(b).ok_or(EvalError::Overflow)
        }
        Expr::Sub(a, b) => {
            let (a, b) = pair(a, b)?;
            a.checked_sub(b).ok_or(if a < b {
                EvalError::Negative
            } else {
                EvalError::Overflow
            })
        }
        Expr::Mul(a, b) => {
            let (a, b) = pair(a, b)?;
            a.checked_mul(b).ok_or(EvalError::Overflow)
        }
        Expr::Div(a, b) => {
            let (a, b) = pair(a, b)?;
            if b.is_zero() {
                return Err(EvalError::DivideByZero);
            }
            a.checked_div(b).ok_or(EvalError::Overflow)
        }
        Expr::Ceil(a) => Ok(Ratio::integer(eval(a, lookup)?.ceil())),
        Expr::Max(args) => {
            let mut best = Ratio::ZERO;
            for arg in args {
                best = best.max(eval(arg, lookup)?);
            }
            Ok(best)
        }
    }
}

impl Formula {
    pub fn parse(text: &str) -> Result<Formula, String> {
        let mut parser = Parser {
            tokens: tokenize(text)?,
            at: 0,
        };
        let expr = parser.sum()?;
        if let Some(extra) = parser.peek() {
            return Err(format!("unexpected {extra:?} after the formula"));
        }
        let mut names = Vec::new();
        collect_names(&expr, &mut names);
        Ok(Formula { expr, names })
    }

    /// The names the formula reads, in order of first use.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn eval(&self, lookup: &dyn Fn(&str) -> Option<Ratio>) -> Result<Ratio, EvalError> {
        eval(&self.expr, lookup)
    }
}

/// `text` with every name replaced by `show(name)` where that is `Some`,
/// keeping operators and spacing: `songs × song_size` → `100,000,000 × 5 MB`.
pub fn substitute(text: &str, show: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if is_name_start(c) {
            let mut end = start + c.len_utf8();
            while let Some(&(i, next)) = chars.peek() {
                if !is_name_char(next) {
                    break;
                }
                end = i + next.len_utf8();
                chars.next();
            }
            let name = &text[start..end];
            match show(name) {
                Some(shown) => out.push_str(&shown),
                None => out.push_str(name),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval_with(text: &str, vars: &[(&str, Ratio)]) -> Result<Ratio, EvalError> {
        let formula = Formula::parse(text).unwrap();
        formula.eval(&|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| *v))
    }

    fn int(n: u128) -> Ratio {
        Ratio::integer(n)
    }

    #[test]
    fn precedence_and_parentheses() {
        assert_eq!(eval_with("2 + 3 × 4", &[]), Ok(int(14)));
        assert_eq!(eval_with("(2 + 3) × 4", &[]), Ok(int(20)));
        assert_eq!(eval_with("12 / 4 / 3", &[]), Ok(int(1)));
        assert_eq!(eval_with("10 - 4 - 3", &[]), Ok(int(3)));
        assert_eq!(eval_with("1 − 0.25", &[]), Ok(Ratio::new(3, 4).unwrap()));
        assert_eq!(eval_with("2 * 3", &[]), Ok(int(6)));
    }

    #[test]
    fn names_and_functions() {
        let vars = [("a", int(7)), ("b", int(2))];
        assert_eq!(eval_with("ceil(a / b)", &vars), Ok(int(4)));
        assert_eq!(eval_with("max(a, b, 9)", &vars), Ok(int(9)));
        assert_eq!(eval_with("max(ceil(a / b), b)", &vars), Ok(int(4)));
        let f = Formula::parse("max(ceil(x / (y × z)), x)").unwrap();
        assert_eq!(f.names(), ["x", "y", "z"]);
    }

    #[test]
    fn errors() {
        assert_eq!(eval_with("a", &[]), Err(EvalError::UnknownName("a".into())));
        assert_eq!(eval_with("1 / 0", &[]), Err(EvalError::DivideByZero));
        assert_eq!(eval_with("1 - 2", &[]), Err(EvalError::Negative));
        assert_eq!(
            eval_with("a × a × a", &[("a", int(u128::MAX / 2))]),
            Err(EvalError::Overflow)
        );
        assert!(Formula::parse("1 +").is_err());
        assert!(Formula::parse("(1").is_err());
        assert!(Formula::parse("1 2").is_err());
        assert!(Formula::parse("ceil(1, 2)").is_err());
        assert!(Formula::parse("sqrt(4)").is_err());
        assert!(Formula::parse("1 % 2").is_err());
    }

    #[test]
    fn substitution_keeps_the_shape() {
        let shown = substitute(
            "ceil(replicated_audio / (node_disk × disk_fill))",
            &|name| match name {
                "replicated_audio" => Some("1.5 PB".into()),
                "node_disk" => Some("16 TB".into()),
                "disk_fill" => Some("85%".into()),
                _ => None,
            },
        );
        assert_eq!(shown, "ceil(1.5 PB / (16 TB × 85%))");
    }
}
