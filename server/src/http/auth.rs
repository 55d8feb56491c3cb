//! `POST /auth/login`, `POST /auth/logout`, `GET /me`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cadenza_api::LoginRequest;
use warp::filters::BoxedFilter;
use warp::http::header::AUTHORIZATION;
use warp::reply::Response;
use warp::Filter;

use super::route::api_route;
use super::{
    body, ctx, no_content, ok_json, read_json, respond, unix_now, ApiResult, BodyStream, Ctx,
};
use crate::app::App;
use crate::auth::{bearer_token, AuthError};
use crate::token_cache::TokenKey;

/// Added to every failed login, on top of argon2's own cost, to slow guessing further.
pub const FAILED_LOGIN_DELAY: Duration = Duration::from_millis(300);

pub fn routes(app: &Arc<App>) -> BoxedFilter<(Response,)> {
    let login = api_route!("auth" / "login")
        .and(warp::post())
        .and(ctx(app))
        .and(body())
        .then(|route, cx, body| respond(route, login(cx, body)));
    let logout = api_route!("auth" / "logout")
        .and(warp::post())
        .and(ctx(app))
        .then(|route, cx| respond(route, logout(cx)));
    let me = api_route!("me")
        .and(warp::get())
        .and(ctx(app))
        .then(|route, cx: Ctx| respond(route, async move { ok_json(&cx.user().await?) }));
    login.or(logout).unify().or(me).unify().boxed()
}

async fn login(cx: Ctx, body: BodyStream) -> ApiResult<Response> {
    let request: LoginRequest = read_json(body).await?;
    let app = Arc::clone(&cx.app);
    let ip = cx
        .remote
        .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |a| a.ip());
    if let Err(e) = app.logins.check(ip, &request.username, Instant::now()) {
        app.metrics.login_failed();
        return Err(e.into());
    }
    let permit = app
        .password_hashing
        .acquire()
        .await
        .map_err(|e| super::ApiError::internal("waiting to check a password", &e))?;
    let (dummy, ttl, now) = (app.dummy_hash.clone(), app.config.token_ttl, unix_now());
    let (username, password) = (request.username.clone(), request.password);
    let result = cx
        .db(move |c| crate::auth::login(c, &dummy, &username, &password, ttl, now))
        .await;
    drop(permit);
    match result {
        Ok(response) => {
            app.logins.succeeded(ip, &request.username);
            tracing::info!(user = %response.user.username, "logged in");
            ok_json(&response)
        }
        Err(e) => {
            if e.code == "invalid_credentials" {
                app.logins.failed(ip, &request.username, Instant::now());
                app.metrics.login_failed();
                tokio::time::sleep(FAILED_LOGIN_DELAY).await;
            }
            Err(e)
        }
    }
}

async fn logout(cx: Ctx) -> ApiResult<Response> {
    cx.user().await?;
    let token = cx
        .header(AUTHORIZATION)
        .and_then(bearer_token)
        .ok_or(AuthError::MissingToken)?;
    let key = TokenKey::of(token);
    cx.db(move |c| c.delete_token(&key.hex())).await?;
    cx.app.tokens.revoke(&key);
    no_content()
}
