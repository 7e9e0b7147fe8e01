//! The `{cluster}` of a Burrow path, resolved once for every handler: a handler that takes a
//! [`Cluster`] runs only for a configured cluster; any other name gets Burrow's 404.

use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, OptionalFromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::Method;
use axum::response::{IntoResponse, Response};

use super::reply::{Reply, RequestInfo};
use crate::http::AppState;
use crate::snapshot::ClusterSnapshot;

/// The cluster a request names, its latest snapshot, and the request's `request` info.
pub struct Cluster {
    /// Position in the configuration (and in the snapshots).
    pub index: usize,
    pub snapshot: Arc<ClusterSnapshot>,
    pub request: RequestInfo,
}

impl Cluster {
    fn find(parts: &Parts, params: &RawPathParams, state: &AppState) -> Option<Cluster> {
        let name = params.iter().find(|(k, _)| *k == "cluster")?.1;
        let index = state.config.clusters.iter().position(|c| c.name == name)?;
        Some(Cluster {
            index,
            snapshot: state.snapshots.get(index),
            request: RequestInfo::new(&parts.uri, &state.hostname),
        })
    }
}

/// Burrow's message for an unknown cluster, which depends on the route.
fn not_found_message(parts: &Parts) -> &'static str {
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    match (route, &parts.method) {
        (Some("/v3/kafka/{cluster}"), _) => "cluster module not found",
        (Some("/v3/kafka/{cluster}/topic/{topic}"), _) => "cluster or topic not found",
        (Some("/v3/kafka/{cluster}/consumer/{group}"), &Method::GET) => {
            "cluster or consumer not found"
        }
        _ => "cluster not found",
    }
}

impl FromRequestParts<Arc<AppState>> for Cluster {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Cluster::find(parts, &params, state).ok_or_else(|| {
            let request = RequestInfo::new(&parts.uri, &state.hostname);
            Reply::not_found(request, not_found_message(parts)).into_response()
        })
    }
}

/// For routes where an unknown cluster is an answer, not an error (a group's status).
impl OptionalFromRequestParts<Arc<AppState>> for Cluster {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Option<Self>, Self::Rejection> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Cluster::find(parts, &params, state))
    }
}
