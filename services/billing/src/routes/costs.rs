//! The cost API: totals and breakdowns for a period from the daily rollups, as JSON or streamed CSV,
//! and the top spenders. Admins see every tenant; everyone else only their own.

use axum::{
    body::Body,
    extract::State,
    http::{header, HeaderMap},
    response::{IntoResponse, Response},
};
use chrono::NaiveDate;
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use shared::{
    auth::{Principal, Role},
    extract::{Json, Query},
    ApiError, ApiResult,
};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};

use crate::quota::this_month;

/// The longest period one report may cover.
const MAX_DAYS: i64 = 3660;

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CostQuery {
    /// First day (UTC), `YYYY-MM-DD`; the first of this month by default.
    pub from: Option<String>,
    /// Last day (UTC, inclusive), `YYYY-MM-DD`; today by default.
    pub to: Option<String>,
    pub tenant: Option<String>,
    /// The service that made the calls (`story`, `tts`, `image`, `music`, `moderation`).
    pub feature: Option<String>,
    /// `day` (default), `tenant`, `service`, `capability`, `provider` or `model`.
    pub group_by: Option<String>,
    /// `csv` for a CSV body (so does `Accept: text/csv`).
    pub format: Option<String>,
}

/// One group's totals.
#[derive(Debug, Clone, Default, Serialize, sqlx::FromRow, ToSchema)]
pub struct CostRow {
    pub group: String,
    pub calls: i64,
    pub failures: i64,
    pub cache_hits: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub characters: i64,
    pub images: i64,
    pub millis: i64,
    pub cost_micros: i64,
}

const CSV_HEADER: &str =
    "group,calls,failures,cache_hits,input_tokens,output_tokens,characters,images,millis,cost_micros";

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CostReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group_by: String,
    pub tenant: Option<String>,
    pub feature: Option<String>,
    pub total: CostRow,
    pub rows: Vec<CostRow>,
}

/// A validated report request.
struct Report {
    from: NaiveDate,
    to: NaiveDate,
    group_by: &'static str,
    tenant: Option<String>,
    feature: Option<String>,
}

fn day(field: &str, value: Option<&str>, default: NaiveDate) -> Result<NaiveDate, ApiError> {
    match value {
        None => Ok(default),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| ApiError::validation(field, "must be a date as YYYY-MM-DD")),
    }
}

fn group_column(name: &str) -> Result<&'static str, ApiError> {
    Ok(match name {
        "day" => "day",
        "tenant" => "tenant",
        "service" => "service",
        "capability" => "capability",
        "provider" => "provider",
        "model" => "model",
        _ => {
            return Err(ApiError::validation(
                "group_by",
                "must be one of day, tenant, service, capability, provider, model",
            ))
        }
    })
}

impl Report {
    fn from_query(principal: &Principal, query: &CostQuery) -> Result<Report, ApiError> {
        principal.require(Role::Viewer)?;
        let today = chrono::Utc::now().date_naive();
        let from = day("from", query.from.as_deref(), this_month())?;
        let to = day("to", query.to.as_deref(), today)?;
        if to < from {
            return Err(ApiError::validation("to", "must not be before `from`"));
        }
        if (to - from).num_days() > MAX_DAYS {
            return Err(ApiError::validation(
                "to",
                format!("a report covers at most {MAX_DAYS} days"),
            ));
        }
        let tenant = match (principal.tenant_scope(), &query.tenant) {
            (Some(own), Some(asked)) if own != asked => {
                return Err(ApiError::forbidden(format!(
                    "tenant `{own}` cannot read the costs of tenant `{asked}`"
                )))
            }
            (Some(own), _) => Some(own.to_owned()),
            (None, asked) => asked.clone(),
        };
        Ok(Report {
            from,
            to,
            group_by: group_column(query.group_by.as_deref().unwrap_or("day"))?,
            tenant,
            feature: query.feature.clone(),
        })
    }

    fn sql(&self) -> String {
        let group = if self.group_by == "day" {
            "period::text"
        } else {
            self.group_by
        };
        format!(
            "SELECT {group} AS \"group\", sum(calls)::int8 AS calls, sum(failures)::int8 AS failures,
                    sum(cache_hits)::int8 AS cache_hits, sum(input_tokens)::int8 AS input_tokens,
                    sum(output_tokens)::int8 AS output_tokens, sum(characters)::int8 AS characters,
                    sum(images)::int8 AS images, sum(millis)::int8 AS millis, sum(cost_micros)::int8 AS cost_micros
             FROM billing.daily_rollups
             WHERE period BETWEEN $1 AND $2 AND ($3::text IS NULL OR tenant = $3) AND ($4::text IS NULL OR service = $4)
             GROUP BY 1 ORDER BY {} ",
            if self.group_by == "day" {
                "1"
            } else {
                "cost_micros DESC, 1"
            }
        )
    }

    fn query<'q>(
        &'q self,
        sql: &'q str,
    ) -> sqlx::query::QueryAs<'q, sqlx::Postgres, CostRow, sqlx::postgres::PgArguments> {
        sqlx::query_as::<_, CostRow>(sql)
            .bind(self.from)
            .bind(self.to)
            .bind(self.tenant.as_deref())
            .bind(self.feature.as_deref())
    }
}

fn total(rows: &[CostRow]) -> CostRow {
    rows.iter().fold(
        CostRow {
            group: "total".to_owned(),
            ..CostRow::default()
        },
        |mut sum, row| {
            sum.calls += row.calls;
            sum.failures += row.failures;
            sum.cache_hits += row.cache_hits;
            sum.input_tokens += row.input_tokens;
            sum.output_tokens += row.output_tokens;
            sum.characters += row.characters;
            sum.images += row.images;
            sum.millis += row.millis;
            sum.cost_micros += row.cost_micros;
            sum
        },
    )
}

fn csv_line(row: &CostRow) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record([
        row.group.clone(),
        row.calls.to_string(),
        row.failures.to_string(),
        row.cache_hits.to_string(),
        row.input_tokens.to_string(),
        row.output_tokens.to_string(),
        row.characters.to_string(),
        row.images.to_string(),
        row.millis.to_string(),
        row.cost_micros.to_string(),
    ])?;
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn wants_csv(query: &CostQuery, headers: &HeaderMap) -> bool {
    query.format.as_deref() == Some("csv")
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/csv"))
}

/// Totals and a breakdown of the period; CSV (streamed, header row first) on request.
#[utoipa::path(get, path = "/v1/billing/costs", operation_id = "cost_report", params(CostQuery), security(("bearer" = [])),
    responses((status = 200, body = CostReport, description = "JSON, or text/csv with `format=csv` or `Accept: text/csv`"),
              (status = 401, body = shared::error::ErrorBody), (status = 403, body = shared::error::ErrorBody),
              (status = 422, body = shared::error::ErrorBody)))]
pub async fn report(
    principal: Principal,
    State(db): State<PgPool>,
    headers: HeaderMap,
    Query(query): Query<CostQuery>,
) -> ApiResult<Response> {
    if let Some(format) = query.format.as_deref() {
        if format != "csv" && format != "json" {
            return Err(ApiError::validation("format", "must be `csv` or `json`"));
        }
    }
    let report = Report::from_query(&principal, &query)?;
    if wants_csv(&query, &headers) {
        return Ok(stream_csv(db, report));
    }
    let sql = report.sql();
    let rows = report.query(&sql).fetch_all(&db).await?;
    Ok(Json(CostReport {
        from: report.from,
        to: report.to,
        group_by: report.group_by.to_owned(),
        tenant: report.tenant.clone(),
        feature: report.feature.clone(),
        total: total(&rows),
        rows,
    })
    .into_response())
}

/// Rows go out as the database yields them; an error mid-stream ends the body early (and is logged).
fn stream_csv(db: PgPool, report: Report) -> Response {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(64);
    tokio::spawn(async move {
        if sender.send(Ok(format!("{CSV_HEADER}\n"))).await.is_err() {
            return;
        }
        let sql = report.sql();
        let mut rows = report.query(&sql).fetch(&db);
        while let Some(row) = rows.next().await {
            let line = row
                .map_err(|e| e.to_string())
                .and_then(|row| csv_line(&row).map_err(|e| e.to_string()));
            let failed = line.is_err();
            let item = line.map_err(|e| {
                tracing::error!(error = %e, "cost CSV stream failed");
                std::io::Error::other(e)
            });
            if sender.send(item).await.is_err() || failed {
                return;
            }
        }
    });
    let body = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"costs.csv\"",
            ),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TopQuery {
    /// How many tenants (1–1000, default 10).
    pub limit: Option<i64>,
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Spender {
    pub tenant: String,
    pub calls: i64,
    pub cost_micros: i64,
}

/// The tenants that spent most in the period (admin).
#[utoipa::path(get, path = "/v1/billing/costs/top", operation_id = "top_spenders", params(TopQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<Spender>), (status = 401, body = shared::error::ErrorBody),
              (status = 403, body = shared::error::ErrorBody), (status = 422, body = shared::error::ErrorBody)))]
pub async fn top(
    principal: Principal,
    State(db): State<PgPool>,
    Query(query): Query<TopQuery>,
) -> ApiResult<Json<Vec<Spender>>> {
    principal.require(Role::Admin)?;
    let limit = query.limit.unwrap_or(10);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::validation("limit", "must be between 1 and 1000"));
    }
    let from = day("from", query.from.as_deref(), this_month())?;
    let to = day("to", query.to.as_deref(), chrono::Utc::now().date_naive())?;
    let spenders = sqlx::query_as!(
        Spender,
        r#"SELECT tenant, sum(calls)::int8 AS "calls!", sum(cost_micros)::int8 AS "cost_micros!"
         FROM billing.daily_rollups WHERE period BETWEEN $1 AND $2
         GROUP BY tenant ORDER BY sum(cost_micros) DESC, tenant LIMIT $3"#,
        from,
        to,
        limit
    )
    .fetch_all(&db)
    .await?;
    Ok(Json(spenders))
}
