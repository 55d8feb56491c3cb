//! Every failure becomes `{"error": {"code", "message"}}` with the right status: service
//! errors through `From` impls, warp's own rejections in [`handle_rejection`].

use std::convert::Infallible;

use cadenza_api::{ErrorBody, ErrorDetail};
use cadenza_catalog::CatalogError;
use warp::http::header::{HeaderName, HeaderValue, CONTENT_RANGE, RETRY_AFTER, WWW_AUTHENTICATE};
use warp::http::StatusCode;
use warp::reject::{MethodNotAllowed, PayloadTooLarge, Rejection};
use warp::reply::Response;
use warp::Reply;

use cadenza_media::MediaError;
use cadenza_store::StoreError;

use crate::auth::AuthError;
use crate::library::LibraryError;
use crate::share::ShareError;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    headers: Vec<(HeaderName, HeaderValue)>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            headers: Vec::new(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    pub fn too_large(limit: u64) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "the upload is larger than this server accepts ({limit} bytes); \
                 ask the admin to raise max_upload or send a smaller file"
            ),
        )
    }

    /// 416 for a blob of `len` bytes.
    pub fn unsatisfiable(len: u64) -> Self {
        Self::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "range_not_satisfiable",
            format!("the requested range starts past the end of the {len}-byte file"),
        )
        .with_header(CONTENT_RANGE, &format!("bytes */{len}"))
    }

    /// A bug or an unexpected failure: logged in full here, summarised to the client.
    pub fn internal(context: &str, error: &dyn std::fmt::Display) -> Self {
        tracing::error!("{context}: {error}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("internal error while {context}; the server log has the details"),
        )
    }

    pub fn with_header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.push((name, value));
        }
        self
    }

    pub fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
            },
        };
        let mut response =
            warp::reply::with_status(warp::reply::json(&body), self.status).into_response();
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::NotFound(m) => ApiError::not_found(m),
            CatalogError::Forbidden(m) => ApiError::forbidden(m),
            CatalogError::Conflict(m) => ApiError::conflict(m),
            CatalogError::Invalid(m) => ApiError::bad_request(m),
            e @ CatalogError::Storage(_) => ApiError::internal("using the catalog", &e),
            CatalogError::ReadOnly(m) => {
                tracing::warn!("refused a write: {m}");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "catalog_read_only",
                    "the catalog is read-only for now (its primary database does not answer); \
                     nothing was changed, try again in a few seconds",
                )
                .with_header(
                    RETRY_AFTER,
                    &cadenza_catalog::READ_ONLY_RETRY_SECS.to_string(),
                )
            }
            CatalogError::Unavailable(m) => {
                tracing::error!("the catalog does not answer: {m}");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "catalog_unavailable",
                    "the catalog database does not answer; try again in a few seconds",
                )
                .with_header(
                    RETRY_AFTER,
                    &cadenza_catalog::READ_ONLY_RETRY_SECS.to_string(),
                )
            }
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let message = e.to_string();
        match e {
            AuthError::MissingToken | AuthError::InvalidToken => {
                ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
                    .with_header(WWW_AUTHENTICATE, "Bearer realm=\"cadenza\"")
            }
            AuthError::WrongCredentials => {
                ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", message)
            }
            AuthError::NotAdmin => ApiError::forbidden(message),
            AuthError::Throttled { retry_after } => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", message)
                    .with_header(RETRY_AFTER, &retry_after.as_secs().max(1).to_string())
            }
            AuthError::Catalog(e) => e.into(),
            e @ AuthError::Hashing(_) => ApiError::internal("hashing a password", &e),
        }
    }
}

impl From<ShareError> for ApiError {
    fn from(e: ShareError) -> Self {
        let code = match e {
            ShareError::BadSignature => "invalid_share_link",
            ShareError::Expired => "share_link_expired",
        };
        ApiError::new(StatusCode::FORBIDDEN, code, e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::TooLarge { limit } => ApiError::too_large(limit),
            StoreError::InvalidHash { .. } => ApiError::bad_request(e.to_string()),
            StoreError::Body(_) => {
                ApiError::bad_request(format!("{e}; nothing was stored, send the file again"))
            }
            StoreError::NotFound { .. }
            | StoreError::Unavailable { .. }
            | StoreError::Corrupt { .. }
            | StoreError::Volume { .. } => {
                tracing::error!("blob store: {e}");
                ApiError::unavailable(format!(
                    "storage is failing: {e}; try again later, and an admin should check the volumes"
                ))
            }
            StoreError::InvalidRange { .. } | StoreError::Io { .. } | StoreError::Config(_) => {
                ApiError::internal("using the blob store", &e)
            }
        }
    }
}

/// A refused upload: 415 for what is not audio or what the player cannot decode, 422 for
/// audio that is empty, cut short or corrupt; a failed read of the staged file is ours (500).
impl From<MediaError> for ApiError {
    fn from(e: MediaError) -> Self {
        let status = match e {
            MediaError::NotAudio { .. } | MediaError::Unsupported { .. } => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            MediaError::Empty | MediaError::Unreadable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            MediaError::Io(_) => return ApiError::internal("reading the staged upload", &e),
        };
        ApiError::new(status, e.code(), e.to_string())
    }
}

impl From<LibraryError> for ApiError {
    fn from(e: LibraryError) -> Self {
        match e {
            LibraryError::TooLarge { limit } => ApiError::too_large(limit),
            LibraryError::BadRequest(message) => ApiError::bad_request(message),
            LibraryError::Media(e) => e.into(),
            LibraryError::Store(e) => e.into(),
            LibraryError::Catalog(e) => e.into(),
            LibraryError::Task(e) => e.into(),
        }
    }
}

/// A task on the blocking pool panicked or was cancelled.
impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::internal("running a blocking task", &e)
    }
}

/// Turns warp's rejections (no route, wrong method, unreadable body...) into JSON errors.
pub async fn handle_rejection(rejection: Rejection) -> Result<Response, Infallible> {
    Ok(rejection_error(&rejection).into_response())
}

fn rejection_error(rejection: &Rejection) -> ApiError {
    if rejection.is_not_found() {
        return no_route();
    }
    if let Some(e) = rejection.find::<ApiError>() {
        return e.clone();
    }
    if rejection.find::<PayloadTooLarge>().is_some() {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is too large for this route",
        );
    }
    if rejection
        .find::<warp::filters::body::BodyDeserializeError>()
        .is_some()
    {
        return ApiError::bad_request("the request body is not valid JSON for this route");
    }
    if rejection.find::<warp::reject::InvalidQuery>().is_some() {
        return ApiError::bad_request("the query string is not valid for this route");
    }
    if let Some(e) = rejection.find::<warp::reject::MissingHeader>() {
        return ApiError::bad_request(format!("the `{}` header is missing", e.name()));
    }
    if let Some(e) = rejection.find::<warp::reject::InvalidHeader>() {
        return ApiError::bad_request(format!("the `{}` header is not valid", e.name()));
    }
    if rejection
        .find::<warp::filters::ws::MissingConnectionUpgrade>()
        .is_some()
    {
        return ApiError::bad_request(
            "this route speaks WebSocket only; connect with a WebSocket client (Upgrade: websocket)",
        );
    }
    if rejection.find::<MethodNotAllowed>().is_some() {
        return ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this route does not accept that HTTP method; see the API documentation",
        );
    }
    ApiError::internal("routing a request", &format!("{rejection:?}"))
}

fn no_route() -> ApiError {
    ApiError::not_found("no such route; API routes live under /api/v1 (e.g. GET /api/v1/songs)")
}

impl warp::reject::Reject for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn retry_after(e: &ApiError) -> Option<Duration> {
        e.headers
            .iter()
            .find(|(name, _)| name == RETRY_AFTER)
            .and_then(|(_, v)| v.to_str().ok()?.parse().ok())
            .map(Duration::from_secs)
    }

    async fn body_of(response: Response) -> ErrorBody {
        use http_body_util::BodyExt;
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn catalog_errors_map_to_statuses() {
        let cases = [
            (CatalogError::NotFound("no song 3".into()), 404, "not_found"),
            (
                CatalogError::Forbidden("not yours".into()),
                403,
                "forbidden",
            ),
            (CatalogError::Conflict("taken".into()), 409, "conflict"),
            (
                CatalogError::Invalid("bad position".into()),
                400,
                "bad_request",
            ),
            (CatalogError::Storage("disk".into()), 500, "internal"),
            (
                CatalogError::ReadOnly("db:5432 refused".into()),
                503,
                "catalog_read_only",
            ),
            (
                CatalogError::Unavailable("db:5432 refused".into()),
                503,
                "catalog_unavailable",
            ),
        ];
        for (error, status, code) in cases {
            let api = ApiError::from(error);
            assert_eq!(api.status.as_u16(), status);
            assert_eq!(api.code, code);
        }
        let api = ApiError::from(CatalogError::NotFound("no song 3".into()));
        assert_eq!(api.message, "no song 3", "catalog messages pass through");
        let api = ApiError::from(CatalogError::Storage("secret path /x".into()));
        assert!(!api.message.contains("/x"), "internals stay in the log");
        let api = ApiError::from(CatalogError::ReadOnly("db.internal:5432".into()));
        assert!(!api.message.contains("db.internal"), "{}", api.message);
        assert_eq!(
            retry_after(&api),
            Some(Duration::from_secs(cadenza_catalog::READ_ONLY_RETRY_SECS))
        );
    }

    #[test]
    fn auth_errors_map_to_statuses() {
        let missing = ApiError::from(AuthError::MissingToken);
        assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
        assert!(missing.message.contains("log"), "{}", missing.message);
        assert!(missing.headers.iter().any(|(n, _)| n == WWW_AUTHENTICATE));
        assert_eq!(
            ApiError::from(AuthError::NotAdmin).status,
            StatusCode::FORBIDDEN
        );
        let throttled = ApiError::from(AuthError::Throttled {
            retry_after: Duration::from_secs(42),
        });
        assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(retry_after(&throttled), Some(Duration::from_secs(42)));
        let expired = ApiError::from(ShareError::Expired);
        assert_eq!(expired.status, StatusCode::FORBIDDEN);
        assert!(expired.message.contains("expired"));
    }

    #[test]
    fn upload_errors_map_to_statuses() {
        let cases: Vec<(ApiError, u16, &str)> = vec![
            (
                StoreError::TooLarge { limit: 10 }.into(),
                413,
                "payload_too_large",
            ),
            (
                StoreError::InvalidHash { hash: "x".into() }.into(),
                400,
                "bad_request",
            ),
            (
                StoreError::Unavailable {
                    hash: "h".into(),
                    detail: "all replicas corrupt".into(),
                }
                .into(),
                503,
                "unavailable",
            ),
            (
                StoreError::Body(Box::new(std::io::Error::other("reset"))).into(),
                400,
                "bad_request",
            ),
            (StoreError::Config("bad".into()).into(), 500, "internal"),
            (MediaError::Empty.into(), 422, "empty_file"),
            (
                MediaError::NotAudio {
                    detail: "text".into(),
                }
                .into(),
                415,
                "not_audio",
            ),
            (
                MediaError::Unsupported {
                    format: "ALAC".into(),
                    reason: "the player cannot decode it".into(),
                }
                .into(),
                415,
                "unsupported_format",
            ),
            (
                MediaError::Unreadable {
                    detail: "truncated".into(),
                }
                .into(),
                422,
                "unreadable_audio",
            ),
            (
                MediaError::Io(std::io::Error::other("disk")).into(),
                500,
                "internal",
            ),
            (
                LibraryError::TooLarge { limit: 20_000 }.into(),
                413,
                "payload_too_large",
            ),
            (
                LibraryError::BadRequest("needs a guid".into()).into(),
                400,
                "bad_request",
            ),
            (
                LibraryError::Catalog(CatalogError::NotFound("no podcast 9".into())).into(),
                404,
                "not_found",
            ),
        ];
        for (api, status, code) in cases {
            assert_eq!((api.status.as_u16(), api.code), (status, code), "{api:?}");
            assert!(!api.message.is_empty());
        }
        let too_large = ApiError::from(LibraryError::TooLarge { limit: 20_000 });
        assert!(too_large.message.contains("20000"), "{}", too_large.message);
        let media = ApiError::from(MediaError::NotAudio {
            detail: "text".into(),
        });
        assert!(
            media.message.contains("MP3"),
            "the media message says what to upload"
        );
    }

    #[tokio::test]
    async fn errors_render_as_json_with_headers() {
        let response = ApiError::unsatisfiable(1234).into_response();
        assert_eq!(response.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(response.headers()[CONTENT_RANGE], "bytes */1234");
        assert_eq!(
            response.headers()[warp::http::header::CONTENT_TYPE],
            "application/json"
        );
        let body = body_of(response).await;
        assert_eq!(body.error.code, "range_not_satisfiable");
    }
}
