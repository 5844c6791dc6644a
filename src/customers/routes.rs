//! Customer endpoints for staff and store backends: `/v1/customers`.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::model::{Consents, Customer, CustomerChanges, CustomerFields};
use super::repo::ListFilter;
use super::service::{self, Editor};
use super::stats;
use super::validate::{self, Check, MAX_TEXT};
use crate::app::AppState;
use crate::auth::tokens::Audience;
use crate::auth::{Caller, Permission};
use crate::body::Body;
use crate::error::{ApiError, Problem};
use crate::{db, idempotency, pagination};

/// Registers the routes.
pub fn config(cfg: &mut ServiceConfig) {
    cfg.service(create)
        .service(list)
        .service(get_by_external_id)
        .service(get_one)
        .service(update)
        .service(issue_token);
}

/// Deserialises a present field (even `null`) as `Some`, so PATCH can tell "clear" from "leave".
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Consents as the API shows them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentsBody {
    #[serde(default)]
    email_marketing: bool,
    #[serde(default)]
    sms_marketing: bool,
    #[serde(default)]
    surveys: bool,
}

/// A partial change of consents.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentsPatch {
    pub email_marketing: Option<bool>,
    pub sms_marketing: Option<bool>,
    pub surveys: Option<bool>,
}

/// A new customer. At least one of `external_id`, `email`, `phone`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCustomer {
    /// The client's own id (unique, not blank, up to 200 characters).
    #[schema(min_length = 1, max_length = 200)]
    external_id: Option<String>,
    /// Trimmed and lower-cased, at most 254 bytes then; unique.
    email: Option<String>,
    /// E.164, e.g. `+989121234567` (spaces, dashes, dots and parentheses are removed first); unique.
    phone: Option<String>,
    /// Not blank, up to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    first_name: Option<String>,
    /// Not blank, up to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    last_name: Option<String>,
    /// `YYYY-MM-DD` (from 1900, not in the future) or `--MM-DD`.
    #[schema(pattern = r"^\s*([0-9]{4}|-)-[0-9]{2}-[0-9]{2}\s*$")]
    birthday: Option<String>,
    /// IANA name, e.g. `Asia/Tehran`.
    time_zone: Option<String>,
    /// `en`, `fa`, `ar`, `en-GB`…
    #[schema(pattern = r"^\s*[A-Za-z]{2,3}([-_][A-Za-z]{2})?\s*$")]
    locale: Option<String>,
    /// `email`, `sms` or `push`.
    #[schema(pattern = r"^\s*(email|sms|push)\s*$")]
    preferred_channel: Option<String>,
    /// All false when omitted.
    #[serde(default)]
    consents: ConsentsBody,
    /// Up to 50 tags, each not blank and up to 64 characters.
    #[serde(default)]
    #[schema(schema_with = validate::tags_schema)]
    tags: Vec<String>,
    /// Up to 50 string attributes: keys not blank and up to 64 characters, values up to 1024.
    #[serde(default)]
    #[schema(schema_with = validate::attributes_schema)]
    attributes: BTreeMap<String, String>,
    /// A referral code the customer signed up with (not blank, up to 200 characters).
    #[schema(min_length = 1, max_length = 200)]
    referral_code_used: Option<String>,
}

/// Changes to a customer: absent fields stay, `null` clears.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCustomer {
    /// Not blank, up to 200 characters.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200)]
    pub external_id: Option<Option<String>>,
    /// Trimmed and lower-cased, at most 254 bytes then.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// E.164 (spaces, dashes, dots and parentheses are removed first).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    /// Not blank, up to 200 characters.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200)]
    pub first_name: Option<Option<String>>,
    /// Not blank, up to 200 characters.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200)]
    pub last_name: Option<Option<String>>,
    /// `YYYY-MM-DD` (from 1900, not in the future) or `--MM-DD`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = r"^\s*([0-9]{4}|-)-[0-9]{2}-[0-9]{2}\s*$")]
    pub birthday: Option<Option<String>>,
    /// IANA name, e.g. `Asia/Tehran`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub time_zone: Option<Option<String>>,
    /// `en`, `fa`, `ar`, `en-GB`…
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = r"^\s*[A-Za-z]{2,3}([-_][A-Za-z]{2})?\s*$")]
    pub locale: Option<Option<String>>,
    /// `email`, `sms` or `push`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = r"^\s*(email|sms|push)\s*$")]
    pub preferred_channel: Option<Option<String>>,
    pub consents: Option<ConsentsPatch>,
    /// Replaces the tags: up to 50, each not blank and up to 64 characters.
    #[schema(schema_with = validate::tags_schema_nullable)]
    pub tags: Option<Vec<String>>,
    /// Replaces the attributes: up to 50; keys not blank and up to 64 characters, values up to 1024.
    #[schema(schema_with = validate::attributes_schema_nullable)]
    pub attributes: Option<BTreeMap<String, String>>,
}

/// A customer as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerResponse {
    id: String,
    external_id: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    birthday: Option<String>,
    time_zone: Option<String>,
    locale: Option<String>,
    preferred_channel: Option<String>,
    consents: ConsentsBody,
    tags: Vec<String>,
    attributes: BTreeMap<String, String>,
    referral_code_used: Option<String>,
    /// The customer's own code for referring friends.
    referral_code: Option<String>,
    /// Whether the customer can log in with a password.
    has_password: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// When the customer's personal data was erased (`DELETE /v1/customers/{id}`); null unless
    /// erased. An erased customer shows no personal data and a null `external_id`.
    erased_at: Option<DateTime<Utc>>,
    /// Present when the id (or external id) asked for names a customer record that was merged
    /// into this one: the merged record's id. This body is then the surviving customer's.
    #[serde(skip_serializing_if = "Option::is_none")]
    merged_from: Option<String>,
}

impl CustomerResponse {
    /// The answer for a lookup that went through a merge alias.
    fn via_alias(mut self, merged_from: Option<String>) -> Self {
        self.merged_from = merged_from;
        self
    }

    /// The response with a `Content-Location` naming the surviving record when an alias was asked for.
    fn respond(self) -> HttpResponse {
        let mut response = HttpResponse::Ok();
        if self.merged_from.is_some() {
            response.insert_header((
                actix_web::http::header::CONTENT_LOCATION,
                format!("/v1/customers/{}", self.id),
            ));
        }
        response.json(self)
    }

    /// The customer's id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl From<Customer> for CustomerResponse {
    fn from(c: Customer) -> Self {
        let r = c.row;
        // Erasure keeps a placeholder external id only to satisfy the "one identifier" CHECK.
        let external_id = match r.erased_at {
            Some(_) => None,
            None => r.external_id.clone(),
        };
        Self {
            erased_at: r.erased_at.map(|t| t.and_utc()),
            attributes: r.attributes(),
            has_password: r.password_hash.is_some(),
            consents: ConsentsBody {
                email_marketing: r.consent_email_marketing,
                sms_marketing: r.consent_sms_marketing,
                surveys: r.consent_surveys,
            },
            id: r.id,
            external_id,
            email: r.email,
            phone: r.phone,
            first_name: r.first_name,
            last_name: r.last_name,
            birthday: r.birthday,
            time_zone: r.time_zone,
            locale: r.locale,
            preferred_channel: r.preferred_channel,
            tags: c.tags,
            referral_code_used: r.referral_code_used,
            referral_code: r.referral_code,
            created_at: r.created_at.and_utc(),
            updated_at: r.updated_at.and_utc(),
            merged_from: None,
        }
    }
}

/// A page of customers.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerList {
    data: Vec<CustomerResponse>,
    next_cursor: Option<String>,
}

/// Search and filters; newest first.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Up to five words; each must start a word of the customer's first or last name, their
    /// email (whole, the part before `@` or the domain), phone (with or without `+`) or external id.
    /// Case-insensitive; Arabic and Persian letter forms and digits are unified.
    #[param(max_length = 200)]
    q: Option<String>,
    /// Exact email (normalised before matching).
    email: Option<String>,
    /// Exact phone (normalised to E.164 before matching).
    phone: Option<String>,
    /// Customers carrying this tag.
    tag: Option<String>,
    /// Customers holding this tier (id).
    tier: Option<String>,
    /// Customers in this segment.
    segment: Option<stats::Segment>,
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// Cursor from the previous page.
    cursor: Option<String>,
}

/// A token a mobile app can use for `/v1/me`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerToken {
    access_token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    /// Seconds until it expires.
    expires_in: i64,
}

fn opt<T>(
    check: &mut Check,
    field: &str,
    raw: Option<&str>,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Option<T> {
    raw.and_then(|v| check.take(field, parse(v)))
}

/// Validates one nullable PATCH field.
pub fn change(
    check: &mut Check,
    field: &str,
    raw: Option<Option<String>>,
    parse: impl Fn(&str) -> Result<String, String>,
) -> Option<Option<String>> {
    match raw {
        None => None,
        Some(None) => Some(None),
        Some(Some(v)) => check.take(field, parse(&v)).map(Some),
    }
}

impl CreateCustomer {
    fn parse(self, today: chrono::NaiveDate) -> Result<(CustomerFields, Vec<String>), ApiError> {
        let mut c = Check::default();
        let text = |v: &str| validate::text(v, MAX_TEXT);
        let fields = CustomerFields {
            external_id: opt(&mut c, "external_id", self.external_id.as_deref(), text),
            email: opt(&mut c, "email", self.email.as_deref(), validate::email),
            phone: opt(&mut c, "phone", self.phone.as_deref(), validate::phone),
            first_name: opt(&mut c, "first_name", self.first_name.as_deref(), text),
            last_name: opt(&mut c, "last_name", self.last_name.as_deref(), text),
            birthday: opt(&mut c, "birthday", self.birthday.as_deref(), |v| {
                validate::birthday(v, today)
            }),
            time_zone: opt(
                &mut c,
                "time_zone",
                self.time_zone.as_deref(),
                validate::time_zone,
            ),
            locale: opt(&mut c, "locale", self.locale.as_deref(), validate::locale),
            preferred_channel: opt(
                &mut c,
                "preferred_channel",
                self.preferred_channel.as_deref(),
                validate::channel,
            ),
            consents: Consents {
                email_marketing: self.consents.email_marketing,
                sms_marketing: self.consents.sms_marketing,
                surveys: self.consents.surveys,
            },
            attributes: c
                .take("attributes", validate::attributes(&self.attributes))
                .unwrap_or_default(),
            referral_code_used: opt(
                &mut c,
                "referral_code_used",
                self.referral_code_used.as_deref(),
                text,
            ),
        };
        let tags = c
            .take("tags", validate::tags(&self.tags))
            .unwrap_or_default();
        if self.external_id.is_none() && self.email.is_none() && self.phone.is_none() {
            c.fail(
                "external_id",
                "one of external_id, email or phone is required",
            );
        }
        c.finish()?;
        Ok((fields, tags))
    }
}

impl UpdateCustomer {
    /// Validates every present field.
    pub fn parse(self, today: chrono::NaiveDate) -> Result<CustomerChanges, ApiError> {
        let mut c = Check::default();
        let text = |v: &str| validate::text(v, MAX_TEXT);
        let consents = self.consents.unwrap_or_default();
        let changes = CustomerChanges {
            external_id: change(&mut c, "external_id", self.external_id, text),
            email: change(&mut c, "email", self.email, validate::email),
            phone: change(&mut c, "phone", self.phone, validate::phone),
            first_name: change(&mut c, "first_name", self.first_name, text),
            last_name: change(&mut c, "last_name", self.last_name, text),
            birthday: change(&mut c, "birthday", self.birthday, |v| {
                validate::birthday(v, today)
            }),
            time_zone: change(&mut c, "time_zone", self.time_zone, validate::time_zone),
            locale: change(&mut c, "locale", self.locale, validate::locale),
            preferred_channel: change(
                &mut c,
                "preferred_channel",
                self.preferred_channel,
                validate::channel,
            ),
            email_marketing: consents.email_marketing,
            sms_marketing: consents.sms_marketing,
            surveys: consents.surveys,
            attributes: self
                .attributes
                .and_then(|a| c.take("attributes", validate::attributes(&a))),
            tags: self.tags.and_then(|t| c.take("tags", validate::tags(&t))),
        };
        c.finish()?;
        Ok(changes)
    }
}

/// Create a customer.
#[utoipa::path(tag = "customers", request_body = CreateCustomer, security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "optional; the first answer is replayed for the same request")),
    responses((status = 201, body = CustomerResponse), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 409, description = "`customer_exists`, with `existing_id`", body = Problem),
        (status = 422, description = "`unknown_referral_code`", body = Problem)))]
#[post("/customers")]
async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: Body<CreateCustomer>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::CUSTOMERS_WRITE)?;
    let now = state.clock.now();
    let body = body.read().await?;
    let canonical = serde_json::to_vec(&body).map_err(|e| ApiError::internal(e.into()))?;
    let (fields, tags) = body.parse(now.date_naive())?;
    let actor = caller.actor();
    idempotency::created(&state, &req, &caller, &canonical, move |c| {
        let customer = service::create(c, &actor, fields.clone(), tags.clone(), now.naive_utc())?;
        Ok(CustomerResponse::from(customer))
    })
    .await
}

/// Get a customer. An id of a record merged into another answers with the surviving customer,
/// `merged_from` set to the id asked for and a `Content-Location` naming the survivor.
#[utoipa::path(tag = "customers", security(("bearer" = [])),
    responses((status = 200, body = CustomerResponse,
            headers(("Content-Location" = String, description = "`/v1/customers/{id}` of the surviving customer, when a merged record was asked for"))),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
#[get("/customers/{id}")]
async fn get_one(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::CUSTOMERS_READ)?;
    let (customer, merged_from) = db::run(&state.pool, move |c| service::lookup(c, &id)).await?;
    Ok(CustomerResponse::from(customer)
        .via_alias(merged_from)
        .respond())
}

/// Get a customer by the client's own id. An external id kept by a record merged into another
/// answers with the surviving customer, `merged_from` and `Content-Location` as for the id.
#[utoipa::path(tag = "customers", security(("bearer" = [])),
    responses((status = 200, body = CustomerResponse,
            headers(("Content-Location" = String, description = "`/v1/customers/{id}` of the surviving customer, when a merged record was found"))),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
#[get("/customers/by-external-id/{external_id}")]
async fn get_by_external_id(
    state: web::Data<AppState>,
    caller: Caller,
    external_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::CUSTOMERS_READ)?;
    let (customer, merged_from) = db::run(&state.pool, move |c| {
        service::get_by_external_id(c, &external_id)
    })
    .await?;
    Ok(CustomerResponse::from(customer)
        .via_alias(merged_from)
        .respond())
}

/// Change a customer.
#[utoipa::path(tag = "customers", request_body = UpdateCustomer, security(("bearer" = [])),
    responses((status = 200, body = CustomerResponse), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, description = "`customer_exists`, with `existing_id`", body = Problem),
        (status = 422, description = "`customer_unidentifiable`, `customer_erased`", body = Problem)))]
#[patch("/customers/{id}")]
async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Body<UpdateCustomer>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::CUSTOMERS_WRITE)?;
    let now = state.clock.now();
    let changes = body.read().await?.parse(now.date_naive())?;
    let actor = caller.actor();
    let customer = db::run(&state.pool, move |c| {
        service::update(
            c,
            &actor,
            Editor::Operator,
            &id,
            changes.clone(),
            now.naive_utc(),
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(CustomerResponse::from(customer)))
}

/// Search and filter customers, newest first.
#[utoipa::path(tag = "customers", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, body = CustomerList), (status = 400, body = Problem), (status = 403, body = Problem)))]
#[get("/customers")]
async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::CUSTOMERS_READ)?;
    let query: ListQuery = crate::body::query(req.query_string())?;
    let limit = pagination::limit(query.limit)?;
    let mut c = Check::default();
    if query.q.as_deref().is_some_and(|q| q.chars().count() > 200) {
        c.fail("q", "must be at most 200 characters");
    }
    let filter = ListFilter {
        email: opt(&mut c, "email", query.email.as_deref(), validate::email),
        phone: opt(&mut c, "phone", query.phone.as_deref(), validate::phone),
        q: query
            .q
            .as_deref()
            .map(super::search::query_words)
            .unwrap_or_default(),
        tag: query.tag,
        tier: query.tier,
        segment: query.segment.map(|s| s.as_str().to_owned()),
        before: query
            .cursor
            .as_deref()
            .map(pagination::decode_position)
            .transpose()?,
    };
    c.finish()?;
    let mut rows = db::run(&state.pool, move |c| {
        service::list(c, filter.clone(), limit + 1)
    })
    .await?;
    let next_cursor =
        pagination::next_position_page(&mut rows, limit, |c| (c.row.created_at, c.row.id.clone()));
    let data = rows.into_iter().map(CustomerResponse::from).collect();
    Ok(HttpResponse::Ok().json(CustomerList { data, next_cursor }))
}

/// Mint a short-lived customer token for a mobile app (scope `tokens:issue`).
#[utoipa::path(tag = "customers", security(("bearer" = [])),
    responses((status = 201, body = CustomerToken), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, description = "`customer_erased`", body = Problem)))]
#[post("/customers/{id}/tokens")]
async fn issue_token(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::TOKENS_ISSUE)?;
    // A merged record's id mints a token for the surviving customer.
    let customer = db::run(&state.pool, move |c| service::live(c, &id)).await?;
    let issued = state
        .tokens
        .issue(Audience::Customer, &customer.id, state.clock.now())?;
    Ok(HttpResponse::Created().json(CustomerToken {
        access_token: issued.token,
        token_type: "Bearer",
        expires_in: issued.expires_in,
    }))
}

/// A token response for customer login too.
pub fn customer_token(token: String, expires_in: i64) -> CustomerToken {
    CustomerToken {
        access_token: token,
        token_type: "Bearer",
        expires_in,
    }
}
