//! Open comments: responses with a comment, newest first, one page at a time through
//! `feedback_responses_comments_idx` (kind, occurred_at, id) — one indexed read per kind, merged.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::params::Range;
use crate::db::DbConnection;
use crate::db::schema::feedback_responses as fr;
use crate::feedback::{Kind, ResponseRow};

/// What the comment list shows.
#[derive(Debug, Clone)]
pub struct CommentFilter {
    /// Only these kinds (every kind when empty).
    pub kinds: Vec<Kind>,
    pub min_score: Option<i32>,
    pub max_score: Option<i32>,
    pub range: Range,
    /// Strictly older than this (occurred_at, id) position.
    pub before: Option<(NaiveDateTime, String)>,
}

/// A page of `limit` comments, newest first (by `occurred_at`, then id).
pub fn page(
    conn: &mut DbConnection,
    f: &CommentFilter,
    limit: i64,
) -> QueryResult<Vec<ResponseRow>> {
    let kinds = if f.kinds.is_empty() {
        Kind::ALL.to_vec()
    } else {
        f.kinds.clone()
    };
    let mut rows = Vec::new();
    for kind in kinds {
        let mut q = fr::table
            .filter(fr::comment.is_not_null())
            .filter(fr::kind.eq(kind.as_str()))
            .filter(fr::occurred_at.ge(f.range.from))
            .filter(fr::occurred_at.lt(f.range.to))
            .select(ResponseRow::as_select())
            .order((fr::occurred_at.desc(), fr::id.desc()))
            .limit(limit)
            .into_boxed();
        if let Some(min) = f.min_score {
            q = q.filter(fr::score.ge(min));
        }
        if let Some(max) = f.max_score {
            q = q.filter(fr::score.le(max));
        }
        if let Some((at, id)) = &f.before {
            q = q.filter(
                fr::occurred_at
                    .lt(*at)
                    .or(fr::occurred_at.eq(*at).and(fr::id.lt(id.clone()))),
            );
        }
        rows.extend(q.load(conn)?);
    }
    rows.sort_by(|a, b| (b.occurred_at, &b.id).cmp(&(a.occurred_at, &a.id)));
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(rows)
}

/// One comment.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = ReportComment)]
pub struct CommentView {
    /// The response's id.
    pub id: String,
    pub kind: Kind,
    /// The top of the response's scale.
    pub scale: i32,
    /// `null`: the question was skipped (only listed without score filters).
    pub score: Option<i32>,
    pub comment: String,
    pub channel: String,
    pub touchpoint: Option<String>,
    pub store_id: Option<String>,
    pub agent_id: Option<String>,
    /// `null` for anonymous feedback.
    pub customer_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

impl From<ResponseRow> for CommentView {
    fn from(r: ResponseRow) -> Self {
        Self {
            kind: Kind::parse(&r.kind).unwrap_or(Kind::Nps),
            id: r.id,
            scale: r.scale,
            score: r.score,
            comment: r.comment.unwrap_or_default(),
            channel: r.channel,
            touchpoint: r.touchpoint,
            store_id: r.store_id,
            agent_id: r.agent_id,
            customer_id: r.customer_id,
            occurred_at: r.occurred_at.and_utc(),
        }
    }
}

/// A page of comments.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommentList {
    pub data: Vec<CommentView>,
    pub next_cursor: Option<String>,
}
