//! Budgets (global, per tenant, per provider; daily or monthly) and the reservations that hold them:
//! a paid call reserves its estimate, then settles its real cost or releases it; an unsettled lease
//! expires. Each budget period's spend row is the lock, taken in a fixed order.

use chrono::{DateTime, Datelike as _, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use shared::ApiError;
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::quota::{self, dollars};

/// A budget as stored and shown, with its current period's figures.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Budget {
    pub id: Uuid,
    /// `global`, `tenant` or `provider`.
    pub scope: String,
    /// The tenant or provider; empty for the global budget.
    pub subject: String,
    /// `daily` or `monthly` (UTC).
    pub period: String,
    pub limit_micros: i64,
    pub period_start: NaiveDate,
    pub settled_micros: i64,
    pub reserved_micros: i64,
    pub updated_at: DateTime<Utc>,
}

impl Budget {
    fn describe(&self) -> String {
        match self.scope.as_str() {
            "global" => format!("the global {} budget", self.period),
            scope => format!("the {} budget of {scope} `{}`", self.period, self.subject),
        }
    }

    /// `402 budget_exhausted` naming this budget; `needed` is what the refused call asked for.
    fn exhausted(&self, needed: Option<i64>) -> ApiError {
        let needed = needed
            .map(|micros| format!(", this call needs {}", dollars(micros)))
            .unwrap_or_default();
        ApiError::new(
            axum::http::StatusCode::PAYMENT_REQUIRED,
            "budget_exhausted",
            format!(
                "{} ({}) is exhausted for this period: {} spent, {} reserved{needed}; it resets at the next {} period or when an admin raises it",
                self.describe(),
                dollars(self.limit_micros),
                dollars(self.settled_micros),
                dollars(self.reserved_micros),
                self.period,
            ),
        )
    }
}

/// Sets a budget (creating or replacing the one of the same scope, subject and period).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetInput {
    pub scope: String,
    #[serde(default)]
    pub subject: String,
    pub period: String,
    pub limit_micros: i64,
}

impl BudgetInput {
    fn validate(&self) -> Result<(), ApiError> {
        if !["global", "tenant", "provider"].contains(&self.scope.as_str()) {
            return Err(ApiError::validation(
                "scope",
                "must be `global`, `tenant` or `provider`",
            ));
        }
        if (self.scope == "global") != self.subject.is_empty() {
            return Err(ApiError::validation(
                "subject",
                "names the tenant or provider, and is empty for the global budget",
            ));
        }
        if !["daily", "monthly"].contains(&self.period.as_str()) {
            return Err(ApiError::validation(
                "period",
                "must be `daily` or `monthly`",
            ));
        }
        if self.limit_micros < 0 {
            return Err(ApiError::validation(
                "limit_micros",
                "must be zero or more micro-dollars",
            ));
        }
        Ok(())
    }
}

/// The start of `period` (UTC) containing `now`.
fn period_start(period: &str, now: DateTime<Utc>) -> NaiveDate {
    let today = now.date_naive();
    if period == "monthly" {
        today.with_day(1).unwrap_or(today)
    } else {
        today
    }
}

const BUDGET_COLUMNS: &str = "b.id, b.scope, b.subject, b.period, b.limit_micros, b.updated_at,
    COALESCE(s.period_start, CASE WHEN b.period = 'monthly' THEN date_trunc('month', now() AT TIME ZONE 'UTC')::date ELSE (now() AT TIME ZONE 'UTC')::date END) AS period_start,
    COALESCE(s.settled_micros, 0) AS settled_micros, COALESCE(s.reserved_micros, 0) AS reserved_micros";

const CURRENT_SPEND: &str = "LEFT JOIN billing.budget_spend s ON s.budget_id = b.id AND s.period_start =
    CASE WHEN b.period = 'monthly' THEN date_trunc('month', now() AT TIME ZONE 'UTC')::date ELSE (now() AT TIME ZONE 'UTC')::date END";

/// Budgets visible to `tenant` (its own, its providers' and the global ones), or all when `None`.
pub async fn list(db: &PgPool, tenant: Option<&str>) -> sqlx::Result<Vec<Budget>> {
    sqlx::query_as::<_, Budget>(&format!(
        "SELECT {BUDGET_COLUMNS} FROM billing.budgets b {CURRENT_SPEND}
         WHERE $1::text IS NULL OR b.scope <> 'tenant' OR b.subject = $1
         ORDER BY b.scope, b.subject, b.period"
    ))
    .bind(tenant)
    .fetch_all(db)
    .await
}

pub async fn upsert(db: &PgPool, input: &BudgetInput) -> Result<Budget, ApiError> {
    input.validate()?;
    let id: Uuid = sqlx::query_scalar!("INSERT INTO billing.budgets (id, scope, subject, period, limit_micros) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (scope, subject, period) DO UPDATE SET limit_micros = EXCLUDED.limit_micros, updated_at = now()
         RETURNING id", Uuid::now_v7(), &input.scope, &input.subject, &input.period, input.limit_micros)
    .fetch_one(db)
    .await?;
    Ok(sqlx::query_as::<_, Budget>(&format!(
        "SELECT {BUDGET_COLUMNS} FROM billing.budgets b {CURRENT_SPEND} WHERE b.id = $1"
    ))
    .bind(id)
    .fetch_one(db)
    .await?)
}

pub async fn delete(db: &PgPool, id: Uuid) -> Result<(), ApiError> {
    let deleted = sqlx::query!("DELETE FROM billing.budgets WHERE id = $1", id)
        .execute(db)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(ApiError::not_found(format!("no budget {id}")));
    }
    Ok(())
}

/// Whether new work of `tenant` may start: refused, naming what, when its plan's quota or a tenant
/// or global budget is used up. Provider budgets only steer calls to other providers.
pub async fn admit(db: &PgPool, tenant: &str) -> Result<(), ApiError> {
    let mut conn = db.acquire().await?;
    quota::status(&mut conn, tenant).await?.admit()?;
    let exhausted = sqlx::query_as::<_, Budget>(&format!(
        "SELECT {BUDGET_COLUMNS} FROM billing.budgets b {CURRENT_SPEND}
         WHERE (b.scope = 'global' OR (b.scope = 'tenant' AND b.subject = $1))
           AND COALESCE(s.settled_micros, 0) + COALESCE(s.reserved_micros, 0) >= b.limit_micros
         ORDER BY b.scope, b.period LIMIT 1"
    ))
    .bind(tenant)
    .fetch_optional(&mut *conn)
    .await?;
    match exhausted {
        Some(budget) => Err(budget.exhausted(None)),
        None => Ok(()),
    }
}

/// A request to hold `estimate_micros` of every budget that applies to a paid call.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReserveInput {
    pub tenant: String,
    pub provider: String,
    pub estimate_micros: i64,
    #[serde(default)]
    pub run_id: Option<Uuid>,
    /// The lease; the service's default when absent.
    #[serde(default)]
    pub ttl_secs: Option<u64>,
}

/// One budget period a reservation counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub struct Hold {
    pub budget_id: Uuid,
    pub period_start: NaiveDate,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Reservation {
    pub id: Uuid,
    pub tenant: String,
    pub provider: String,
    pub run_id: Option<Uuid>,
    pub estimate_micros: i64,
    pub actual_micros: Option<i64>,
    /// `held`, `settled`, `released` or `expired`.
    pub state: String,
    #[schema(value_type = Vec<Hold>)]
    pub holds: sqlx::types::Json<Vec<Hold>>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Leases: the default and longest a caller may ask for.
#[derive(Debug, Clone, Copy)]
pub struct Leases {
    pub default_secs: u64,
    pub max_secs: u64,
}

/// Holds the estimate against every applicable budget, or refuses naming the first budget (or the
/// plan's quota) it would exceed.
pub async fn reserve(
    db: &PgPool,
    input: &ReserveInput,
    leases: Leases,
) -> Result<Reservation, ApiError> {
    if input.tenant.trim().is_empty() {
        return Err(ApiError::validation("tenant", "must not be empty"));
    }
    if input.provider.trim().is_empty() {
        return Err(ApiError::validation("provider", "must not be empty"));
    }
    if input.estimate_micros < 0 {
        return Err(ApiError::validation(
            "estimate_micros",
            "must be zero or more micro-dollars",
        ));
    }
    let ttl = input.ttl_secs.unwrap_or(leases.default_secs);
    if ttl == 0 || ttl > leases.max_secs {
        return Err(ApiError::validation(
            "ttl_secs",
            format!("must be between 1 and {}", leases.max_secs),
        ));
    }
    let now = Utc::now();
    let mut tx = db.begin().await?;
    quota::status(&mut tx, &input.tenant).await?.admit()?;
    let budgets = lock_applicable(&mut tx, &input.tenant, &input.provider, now).await?;
    for budget in &budgets {
        let after = budget.settled_micros + budget.reserved_micros + input.estimate_micros;
        if after > budget.limit_micros {
            return Err(budget.exhausted(Some(input.estimate_micros)));
        }
    }
    let holds: Vec<Hold> = budgets
        .iter()
        .map(|b| Hold {
            budget_id: b.id,
            period_start: b.period_start,
        })
        .collect();
    move_amounts(&mut tx, &holds, input.estimate_micros, 0).await?;
    let ttl = Duration::seconds(i64::try_from(ttl).unwrap_or(i64::MAX));
    let reservation = sqlx::query_as!(Reservation, r#"INSERT INTO billing.reservations (id, tenant, provider, run_id, estimate_micros, state, holds, expires_at)
         VALUES ($1, $2, $3, $4, $5, 'held', $6, $7) RETURNING id, tenant, provider, run_id, estimate_micros, actual_micros, state,
                   holds AS "holds: sqlx::types::Json<Vec<Hold>>", created_at, expires_at"#, Uuid::now_v7(), &input.tenant, &input.provider, input.run_id, input.estimate_micros, sqlx::types::Json(&holds) as _, now + ttl)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(reservation)
}

/// The budgets applying to a call of `tenant` on `provider`, their current spend rows locked in id order.
async fn lock_applicable(
    tx: &mut PgConnection,
    tenant: &str,
    provider: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<Budget>> {
    let applicable = sqlx::query!(
        "SELECT id, period FROM billing.budgets
         WHERE scope = 'global' OR (scope = 'tenant' AND subject = $1) OR (scope = 'provider' AND subject = $2)
         ORDER BY id",
        tenant,
        provider
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut budgets = Vec::with_capacity(applicable.len());
    for budget in applicable {
        let (id, period) = (budget.id, budget.period);
        let start = period_start(&period, now);
        sqlx::query!("INSERT INTO billing.budget_spend (budget_id, period_start) VALUES ($1, $2) ON CONFLICT DO NOTHING", id, start)
        .execute(&mut *tx)
        .await?;
        let budget = sqlx::query_as!(Budget, r#"SELECT b.id, b.scope, b.subject, b.period, b.limit_micros, b.updated_at, s.period_start,
                    s.settled_micros, s.reserved_micros
             FROM billing.budget_spend s JOIN billing.budgets b ON b.id = s.budget_id
             WHERE s.budget_id = $1 AND s.period_start = $2
             FOR UPDATE OF s"#, id, start)
        .fetch_one(&mut *tx)
        .await?;
        budgets.push(budget);
    }
    Ok(budgets)
}

/// Adds `reserve_delta` to the reserved figure and `settle` to the settled one of every hold,
/// in id order (the order reservations lock in, so the two never deadlock).
async fn move_amounts(
    tx: &mut PgConnection,
    holds: &[Hold],
    reserve_delta: i64,
    settle: i64,
) -> sqlx::Result<()> {
    let mut ordered = holds.to_vec();
    ordered.sort();
    for hold in ordered {
        sqlx::query!(
            "UPDATE billing.budget_spend SET reserved_micros = GREATEST(reserved_micros + $3, 0),
                 settled_micros = settled_micros + $4
             WHERE budget_id = $1 AND period_start = $2",
            hold.budget_id,
            hold.period_start,
            reserve_delta,
            settle
        )
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

async fn lock_reservation(tx: &mut PgConnection, id: Uuid) -> Result<Reservation, ApiError> {
    sqlx::query_as!(
        Reservation,
        r#"SELECT id, tenant, provider, run_id, estimate_micros, actual_micros, state,
                   holds AS "holds: sqlx::types::Json<Vec<Hold>>", created_at, expires_at FROM billing.reservations WHERE id = $1 FOR UPDATE"#,
        id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| ApiError::not_found(format!("no reservation {id}")))
}

/// Records the call's real cost. Idempotent: settling again with the same cost changes nothing.
/// A lease that already expired or was released still has its real cost counted.
pub async fn settle(db: &PgPool, id: Uuid, cost_micros: i64) -> Result<Reservation, ApiError> {
    if cost_micros < 0 {
        return Err(ApiError::validation(
            "cost_micros",
            "must be zero or more micro-dollars",
        ));
    }
    let mut tx = db.begin().await?;
    let reservation = lock_reservation(&mut tx, id).await?;
    match reservation.state.as_str() {
        "settled" if reservation.actual_micros == Some(cost_micros) => return Ok(reservation),
        "settled" => {
            return Err(ApiError::conflict(
                "already_settled",
                format!(
                    "reservation {id} was settled at {} micro-dollars, not {cost_micros}",
                    reservation.actual_micros.unwrap_or_default()
                ),
            ))
        }
        "held" => {
            move_amounts(
                &mut tx,
                &reservation.holds,
                -reservation.estimate_micros,
                cost_micros,
            )
            .await?
        }
        _ => move_amounts(&mut tx, &reservation.holds, 0, cost_micros).await?,
    }
    let settled = close(&mut tx, id, "settled", Some(cost_micros)).await?;
    tx.commit().await?;
    Ok(settled)
}

/// Gives the estimate back (the call failed or was not made). Idempotent.
pub async fn release(db: &PgPool, id: Uuid) -> Result<Reservation, ApiError> {
    let mut tx = db.begin().await?;
    let reservation = lock_reservation(&mut tx, id).await?;
    if reservation.state != "held" {
        return Ok(reservation);
    }
    move_amounts(&mut tx, &reservation.holds, -reservation.estimate_micros, 0).await?;
    let released = close(&mut tx, id, "released", None).await?;
    tx.commit().await?;
    Ok(released)
}

async fn close(
    tx: &mut PgConnection,
    id: Uuid,
    state: &str,
    actual: Option<i64>,
) -> sqlx::Result<Reservation> {
    sqlx::query_as!(Reservation, r#"UPDATE billing.reservations SET state = $2, actual_micros = COALESCE($3, actual_micros), closed_at = now()
         WHERE id = $1 RETURNING id, tenant, provider, run_id, estimate_micros, actual_micros, state,
                   holds AS "holds: sqlx::types::Json<Vec<Hold>>", created_at, expires_at"#, id, state, actual)
    .fetch_one(&mut *tx)
    .await
}

/// Releases every lease past its expiry; returns how many.
pub async fn expire(db: &PgPool) -> sqlx::Result<usize> {
    let mut tx = db.begin().await?;
    let expired: Vec<(Uuid, sqlx::types::Json<Vec<Hold>>, i64)> = sqlx::query!(
        r#"SELECT id, holds AS "holds: sqlx::types::Json<Vec<Hold>>", estimate_micros
           FROM billing.reservations WHERE state = 'held' AND expires_at <= now()
           ORDER BY expires_at LIMIT 500 FOR UPDATE SKIP LOCKED"#
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|lease| (lease.id, lease.holds, lease.estimate_micros))
    .collect();
    // One update per budget period, in id order, whatever order the leases expired in.
    let mut returned: std::collections::BTreeMap<Hold, i64> = std::collections::BTreeMap::new();
    for (id, holds, estimate) in &expired {
        for hold in holds.iter() {
            *returned.entry(*hold).or_default() += estimate;
        }
        close(&mut tx, *id, "expired", None).await?;
    }
    for (hold, amount) in returned {
        move_amounts(&mut tx, &[hold], -amount, 0).await?;
    }
    tx.commit().await?;
    Ok(expired.len())
}
