//! What every fake platform shares: a port of its own, one handler that writes down each request
//! (method, path, query, `Authorization`, JSON body) before answering it, and a queue of injected
//! replies that are sent, in order, instead of the normal ones.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, MutexGuard},
};

use axum::{
    body::Bytes,
    http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    Router,
};
use serde_json::Value;

/// A reply to send: status, extra headers and body.
#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub content_type: &'static str,
    pub body: String,
}

impl Canned {
    pub fn json(status: u16, body: &Value) -> Canned {
        Canned {
            status,
            headers: Vec::new(),
            content_type: "application/json; charset=UTF-8",
            body: body.to_string(),
        }
    }

    pub fn text(status: u16, content_type: &'static str, body: impl Into<String>) -> Canned {
        Canned {
            status,
            headers: Vec::new(),
            content_type,
            body: body.into(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Canned {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        for (name, value) in &self.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.insert(name, value);
            }
        }
        (status, headers, self.body).into_response()
    }
}

/// One request a fake received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub authorization: Option<String>,
    pub body: Value,
}

impl Received {
    /// The first value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The bearer token of the `Authorization` header.
    pub fn bearer(&self) -> Option<&str> {
        self.authorization.as_deref()?.strip_prefix("Bearer ")
    }

    /// The path split on `/`, without the leading empty segment.
    pub fn segments(&self) -> Vec<&str> {
        self.path.trim_start_matches('/').split('/').collect()
    }
}

/// How a fake answers a request nobody injected a reply for.
pub type Route<S> = fn(&mut S, &str, &Received) -> Canned;

struct Inner<S> {
    state: S,
    received: Vec<Received>,
    injected: VecDeque<Canned>,
}

/// A fake platform with state `S`, answering at `base_url`.
pub struct Fake<S> {
    inner: Arc<Mutex<Inner<S>>>,
    pub base_url: String,
}

impl<S> Clone for Fake<S> {
    fn clone(&self) -> Self {
        Fake {
            inner: Arc::clone(&self.inner),
            base_url: self.base_url.clone(),
        }
    }
}

impl<S: Send + 'static> Fake<S> {
    /// Serves `route` over `state` on a free local port, in the background.
    pub async fn start(state: S, route: Route<S>) -> std::io::Result<Fake<S>> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let fake = Fake {
            inner: Arc::new(Mutex::new(Inner {
                state,
                received: Vec::new(),
                injected: VecDeque::new(),
            })),
            base_url,
        };
        let handling = fake.clone();
        let app = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let fake = handling.clone();
                async move { fake.handle(route, method, &uri, &headers, &body) }
            },
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(fake)
    }

    fn lock(&self) -> MutexGuard<'_, Inner<S>> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn handle(
        &self,
        route: Route<S>,
        method: Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Response {
        let received = Received {
            method,
            path: uri.path().to_owned(),
            query: url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
                .into_owned()
                .collect(),
            authorization: headers
                .get(axum::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: serde_json::from_slice(body).unwrap_or(Value::Null),
        };
        let mut inner = self.lock();
        inner.received.push(received.clone());
        let reply = match inner.injected.pop_front() {
            Some(canned) => canned,
            None => route(&mut inner.state, &self.base_url, &received),
        };
        reply.into_response()
    }

    /// Sends `canned` instead of the next normal reply (replies queue up in order).
    pub fn inject(&self, canned: Canned) {
        self.lock().injected.push_back(canned);
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    /// Runs `change` on the fake's state (to seed data or flip a behaviour).
    pub fn with<R>(&self, change: impl FnOnce(&mut S) -> R) -> R {
        change(&mut self.lock().state)
    }
}
