//! The length limits of the contract's fields (CONTRACT section 3's field table and the other
//! commands' rules), written once: the validators apply these constants, and the REST adapter's
//! OpenAPI document publishes them (its table of which request field has which rule names the
//! wire messages, so it lives there, not here).

/// How many Unicode scalar values a text field may hold, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Length {
    /// Fewest; 0 for the "at most" rule.
    pub min: usize,
    /// Most.
    pub max: usize,
}

/// Names and ids: at most 200.
pub const NAME_MAX: usize = 200;
/// Preferred language: at most 10.
pub const LANGUAGE_MAX: usize = 10;
/// Machine user description: at most 500.
pub const DESCRIPTION_MAX: usize = 500;

/// A required name or id: 1..200.
pub const NAME: Length = Length { min: 1, max: NAME_MAX };
/// An optional name: 0..200.
pub const OPTIONAL_NAME: Length = Length { min: 0, max: NAME_MAX };
/// A preferred language: 0..10 (then a well-formed BCP 47 tag, see [`crate::language`]).
pub const LANGUAGE: Length = Length { min: 0, max: LANGUAGE_MAX };
/// A machine user's description: 0..500.
pub const DESCRIPTION: Length = Length { min: 0, max: DESCRIPTION_MAX };
