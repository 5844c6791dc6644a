//! JSON documents stored in text columns (program settings, rule bodies, localized texts),
//! checked as they are read: a value Patron did not write fails the query, and the error names
//! what is corrupt. Nothing falls back to defaults, so corruption reaches operators as an error
//! instead of silently changing how points are earned or what customers see.

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, Queryable};
use diesel::sql_types::Text;
use serde::de::DeserializeOwned;

/// A stored document that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("the stored {what} is corrupt ({source}); it begins `{excerpt}`")]
pub struct Corrupt {
    /// What the value should have been, e.g. `program document`.
    pub what: &'static str,
    /// The start of the stored value, to find the row.
    pub excerpt: String,
    #[source]
    pub source: serde_json::Error,
}

/// A document type and the name errors give it.
pub trait Document: DeserializeOwned {
    /// What a value of this type is, for error messages.
    const WHAT: &'static str;
}

/// Parses a stored document; a corrupt one is a deserialization error naming it.
pub fn parse<T: Document>(stored: &str) -> Result<T, diesel::result::Error> {
    serde_json::from_str(stored).map_err(|source| {
        diesel::result::Error::DeserializationError(Box::new(Corrupt {
            what: T::WHAT,
            excerpt: stored.chars().take(40).collect(),
            source,
        }))
    })
}

/// A text column holding a `T` as JSON, checked when the row is loaded. Use on a `String` field
/// with `#[diesel(deserialize_as = Checked<T>)]`.
#[derive(Debug)]
pub struct Checked<T>(String, PhantomData<T>);

impl<T: Document, DB: Backend> Queryable<Text, DB> for Checked<T>
where
    String: FromSql<Text, DB>,
{
    type Row = String;

    fn build(stored: String) -> deserialize::Result<Self> {
        parse::<T>(&stored).map_err(|e| match e {
            diesel::result::Error::DeserializationError(inner) => inner,
            other => Box::new(other),
        })?;
        Ok(Checked(stored, PhantomData))
    }
}

impl<T> From<Checked<T>> for String {
    fn from(c: Checked<T>) -> Self {
        c.0
    }
}
