//! Preferred languages: BCP 47 tags in canonical form, parsed by ICU4X (not by hand).

use icu_locale_core::Locale;
use std::fmt;

/// A well-formed BCP 47 language tag in canonical case (`en-US`); `und` when none was given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PreferredLanguage(String);

/// Why a language value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LanguageError {
    /// Not a well-formed BCP 47 tag.
    #[error("value must be a well-formed BCP 47 language tag")]
    Malformed,
    /// Well-formed, but not in the instance's allow-list.
    #[error("value must be one of the languages this instance allows")]
    NotAllowed,
}

impl PreferredLanguage {
    /// The tag for "no preference".
    #[must_use]
    pub fn undetermined() -> Self {
        Self("und".to_owned())
    }

    /// Parses a tag and canonicalises its case; `_` separators are accepted (`en_us` -> `en-US`)
    /// and the empty string means `und`.
    ///
    /// # Errors
    /// [`LanguageError::Malformed`] when the value is not a well-formed tag.
    pub fn parse(raw: &str) -> Result<Self, LanguageError> {
        if raw.is_empty() {
            return Ok(Self::undetermined());
        }
        let normalised = raw.replace('_', "-");
        Locale::try_from_str(&normalised).map(|locale| Self(locale.to_string())).map_err(|_| LanguageError::Malformed)
    }

    /// Wraps a value read back from storage, where only canonical tags are written.
    #[must_use]
    pub fn from_stored(tag: String) -> Self {
        Self(tag)
    }

    /// The canonical tag.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PreferredLanguage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which tags an instance accepts: any well-formed tag, or only those of an allow-list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LanguagePolicy {
    allowed: Option<Vec<PreferredLanguage>>,
}

impl LanguagePolicy {
    /// Accept every well-formed tag.
    #[must_use]
    pub fn any() -> Self {
        Self { allowed: None }
    }

    /// Accept only these tags (compared in canonical form) and `und`.
    ///
    /// # Errors
    /// [`LanguageError::Malformed`] when a configured tag is itself malformed.
    pub fn allow_list<'a>(tags: impl IntoIterator<Item = &'a str>) -> Result<Self, LanguageError> {
        let allowed = tags.into_iter().map(PreferredLanguage::parse).collect::<Result<Vec<_>, _>>()?;
        Ok(Self { allowed: Some(allowed) })
    }

    /// Parses `raw` and checks it against the policy.
    ///
    /// # Errors
    /// [`LanguageError::Malformed`] or [`LanguageError::NotAllowed`].
    pub fn parse(&self, raw: &str) -> Result<PreferredLanguage, LanguageError> {
        let tag = PreferredLanguage::parse(raw)?;
        match &self.allowed {
            Some(allowed) if tag.as_str() != "und" && !allowed.contains(&tag) => Err(LanguageError::NotAllowed),
            _ => Ok(tag),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_tags_are_stored_in_canonical_form() {
        let table = [
            ("en_us", "en-US"),
            ("EN-us", "en-US"),
            ("de", "de"),
            ("zh-hant-tw", "zh-Hant-TW"),
            ("", "und"),
            ("und", "und"),
        ];
        for (raw, canonical) in table {
            assert_eq!(PreferredLanguage::parse(raw).map(|l| l.to_string()), Ok(canonical.to_owned()), "{raw}");
        }
    }

    #[test]
    fn malformed_tags_are_rejected() {
        for raw in ["english", "e", "en--US", "12", "en US", "-", "en-", "ü"] {
            assert_eq!(PreferredLanguage::parse(raw), Err(LanguageError::Malformed), "{raw}");
        }
    }

    #[test]
    fn an_allow_list_accepts_its_tags_in_any_case_and_und() {
        let policy = LanguagePolicy::allow_list(["en", "de-CH"]).expect("valid list");
        assert_eq!(policy.parse("DE_ch").map(|l| l.to_string()), Ok("de-CH".to_owned()));
        assert_eq!(policy.parse("").map(|l| l.to_string()), Ok("und".to_owned()));
        assert_eq!(policy.parse("fr"), Err(LanguageError::NotAllowed));
    }
}
