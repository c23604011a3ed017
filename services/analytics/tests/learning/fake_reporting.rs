//! A fake YouTube Reporting API: `jobs.list` (paginated), `jobs.create`, `jobs.reports.list`
//! filtered on `startTimeAtOrAfter` / `startTimeBefore`, and report downloads from
//! `/v1/media/…` — daily reports starting at Pacific midnight, as YouTube writes them.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde_json::{json, Value};

use super::fake_server::{Canned, Fake, Received};
use super::fake_youtube::{google_error, unauthorized};

pub const TOKEN: &str = "ya29.reporting-token";

#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub report_type_id: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub id: String,
    pub job_id: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub created: DateTime<Utc>,
    pub csv: String,
}

pub struct State {
    pub jobs: Vec<Job>,
    pub reports: Vec<Report>,
    /// Jobs per page of `jobs.list`.
    pub page_size: usize,
    issued: u64,
}

pub type FakeReporting = Fake<State>;

pub async fn start() -> std::io::Result<FakeReporting> {
    let state = State {
        jobs: Vec::new(),
        reports: Vec::new(),
        page_size: 100,
        issued: 0,
    };
    Fake::start(state, route).await
}

/// Adds a job for `report_type_id` and returns its id.
pub fn add_job(fake: &FakeReporting, report_type_id: &str) -> String {
    fake.with(|state| {
        state.issued += 1;
        let id = format!("job-{}", state.issued);
        state.jobs.push(Job {
            id: id.clone(),
            report_type_id: report_type_id.to_owned(),
            name: "seeded".to_owned(),
        });
        id
    })
}

/// Adds the daily report of `day` to `job_id`, generated `hours_after` the day ended.
pub fn add_report(fake: &FakeReporting, job_id: &str, day: NaiveDate, hours_after: i64, csv: &str) {
    fake.with(|state| {
        state.issued += 1;
        // Pacific (standard time) midnight, in UTC.
        let start = day.and_time(NaiveTime::MIN).and_utc() + chrono::Duration::hours(8);
        let end = start + chrono::Duration::days(1);
        state.reports.push(Report {
            id: format!("report-{}", state.issued),
            job_id: job_id.to_owned(),
            start,
            end,
            created: end + chrono::Duration::hours(hours_after),
            csv: csv.to_owned(),
        });
    });
}

fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn route(state: &mut State, base_url: &str, request: &Received) -> Canned {
    if request.bearer() != Some(TOKEN) {
        return unauthorized();
    }
    let get = request.method == axum::http::Method::GET;
    match request.segments().as_slice() {
        ["v1", "jobs"] if get => list_jobs(state, request),
        ["v1", "jobs"] if request.method == axum::http::Method::POST => create_job(state, request),
        ["v1", "jobs", job_id, "reports"] if get => list_reports(state, base_url, job_id, request),
        ["v1", "media", report_id] if get => {
            match state.reports.iter().find(|r| r.id == *report_id) {
                Some(report) => Canned::text(200, "application/octet-stream", report.csv.clone()),
                None => google_error(404, "notFound", "Requested entity was not found."),
            }
        }
        _ => google_error(404, "notFound", "Not Found"),
    }
}

fn list_jobs(state: &State, request: &Received) -> Canned {
    let from: usize = request
        .param("pageToken")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let page: Vec<Value> = state
        .jobs
        .iter()
        .skip(from)
        .take(state.page_size)
        .map(|job| json!({ "id": job.id, "reportTypeId": job.report_type_id, "name": job.name, "createTime": "2026-01-01T00:00:00Z" }))
        .collect();
    let mut body = json!({});
    if !page.is_empty() {
        body["jobs"] = json!(page);
    }
    if from + state.page_size < state.jobs.len() {
        body["nextPageToken"] = json!((from + state.page_size).to_string());
    }
    Canned::json(200, &body)
}

fn create_job(state: &mut State, request: &Received) -> Canned {
    let (Some(report_type_id), Some(name)) = (
        request.body["reportTypeId"].as_str(),
        request.body["name"].as_str(),
    ) else {
        return google_error(400, "badRequest", "reportTypeId and name are required");
    };
    if state
        .jobs
        .iter()
        .any(|j| j.report_type_id == report_type_id)
    {
        return google_error(
            409,
            "alreadyExists",
            "A job for this report type already exists.",
        );
    }
    state.issued += 1;
    let job = Job {
        id: format!("job-{}", state.issued),
        report_type_id: report_type_id.to_owned(),
        name: name.to_owned(),
    };
    state.jobs.push(job.clone());
    Canned::json(
        200,
        &json!({ "id": job.id, "reportTypeId": job.report_type_id, "name": job.name, "createTime": stamp(Utc::now()) }),
    )
}

fn list_reports(state: &State, base_url: &str, job_id: &str, request: &Received) -> Canned {
    if !state.jobs.iter().any(|j| j.id == job_id) {
        return google_error(404, "notFound", "Requested entity was not found.");
    }
    let bound = |name: &str| {
        request
            .param(name)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let (after, before) = (bound("startTimeAtOrAfter"), bound("startTimeBefore"));
    let reports: Vec<Value> = state
        .reports
        .iter()
        .filter(|r| r.job_id == job_id)
        .filter(|r| after.is_none_or(|a| r.start >= a) && before.is_none_or(|b| r.start < b))
        .map(|r| json!({
            "id": r.id, "jobId": r.job_id,
            "startTime": stamp(r.start), "endTime": stamp(r.end), "createTime": stamp(r.created),
            "downloadUrl": format!("{base_url}/v1/media/{}", r.id),
        }))
        .collect();
    let mut body = json!({});
    if !reports.is_empty() {
        body["reports"] = json!(reports);
    }
    Canned::json(200, &body)
}
