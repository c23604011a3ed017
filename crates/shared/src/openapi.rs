//! OpenAPI pieces every service document shares: the bearer-token security scheme.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

/// Adds the `bearer` JWT security scheme that protected routes refer to.
#[derive(Debug)]
pub struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Documents the error answers the fleet's shared layers give on top of what each route
/// declares, so every response a client can meet is in the document: 401 on protected routes,
/// 400 for an unparsable path value, 400/413/415/422 for bodies, 422 for query strings, 429 for
/// rate limits and 503 for a request past its timeout. Each uses the `{code, detail}` body.
pub fn document_shared_responses(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::{
        openapi::{
            path::ParameterIn,
            response::{Response, ResponseBuilder},
            ContentBuilder, Ref, RefOr,
        },
        PartialSchema as _,
    };
    let error = |description: &str| -> RefOr<Response> {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build(),
        )
    };
    let components = document.components.get_or_insert_with(Default::default);
    components
        .schemas
        .entry("ErrorBody".to_owned())
        .or_insert_with(crate::error::ErrorBody::schema);
    for item in document.paths.paths.values_mut() {
        let path_parameters = item.parameters.clone().unwrap_or_default();
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            let parameters: Vec<_> = path_parameters
                .iter()
                .chain(operation.parameters.iter().flatten())
                .map(|p| p.parameter_in.clone())
                .collect();
            let mut shared = vec![
                ("429", "over the tenant's request limit (see `Retry-After`)"),
                (
                    "503",
                    "not answered in time, or a dependency is down (see `Retry-After`)",
                ),
            ];
            if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                shared.push(("401", "missing, malformed or expired bearer token"));
                shared.push(("403", "the token's role or tenant may not do this"));
            }
            if parameters.contains(&ParameterIn::Path) {
                shared.push(("400", "a path value that cannot be parsed"));
                shared.push(("404", "no such resource"));
            }
            if parameters.contains(&ParameterIn::Query) {
                shared.push(("422", "a query value out of range, naming it"));
            }
            if operation.request_body.is_some() {
                shared.push(("400", "a body that is not valid JSON"));
                shared.push(("413", "a body over `max_body_bytes`"));
                shared.push(("415", "a body without `Content-Type: application/json`"));
                shared.push(("422", "a body failing validation, naming the field"));
            }
            for (status, description) in shared {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| error(description));
            }
        }
    }
}
