//! App passwords and API keys for Subsonic clients: each user manages their own under
//! `/me/credentials`, admins anyone's under `/admin/users/{id}/credentials`. The secret is
//! in the answer to the POST and nowhere else, ever.

use std::sync::Arc;

use cadenza_api::{CreateCredential, CredentialId, CredentialKind, NewClientCredential, UserId};
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Filter;

use super::route::api_route;
use super::{body, ctx, json, no_content, ok_json, read_json, respond, unix_now};
use super::{ApiResult, BodyStream, Ctx};
use crate::app::App;
use crate::client_credentials::{new_api_key, new_seed};

pub fn routes(app: &Arc<App>) -> BoxedFilter<(Response,)> {
    let mine = api_route!("me" / "credentials")
        .and(warp::get())
        .and(ctx(app))
        .then(|route, cx: Ctx| {
            respond(route, async move {
                let user = cx.user().await?;
                list(&cx, user.id).await
            })
        });
    let create_mine = api_route!("me" / "credentials")
        .and(warp::post())
        .and(ctx(app))
        .and(body())
        .then(|route, cx: Ctx, body| {
            respond(route, async move {
                let user = cx.user().await?;
                create(&cx, user.id, body).await
            })
        });
    let revoke_mine = api_route!("me" / "credentials" / {id: CredentialId})
        .and(warp::delete())
        .and(ctx(app))
        .then(|route, id, cx: Ctx| {
            respond(route, async move {
                let user = cx.user().await?;
                revoke(&cx, user.id, id).await
            })
        });
    let theirs = api_route!("admin" / "users" / {id: UserId} / "credentials")
        .and(warp::get())
        .and(ctx(app))
        .then(|route, user, cx: Ctx| {
            respond(route, async move {
                cx.admin().await?;
                list(&cx, user).await
            })
        });
    let create_theirs = api_route!("admin" / "users" / {id: UserId} / "credentials")
        .and(warp::post())
        .and(ctx(app))
        .and(body())
        .then(|route, user, cx: Ctx, body| {
            respond(route, async move {
                cx.admin().await?;
                create(&cx, user, body).await
            })
        });
    let revoke_theirs =
        api_route!("admin" / "users" / {id: UserId} / "credentials" / {credential: CredentialId})
            .and(warp::delete())
            .and(ctx(app))
            .then(|route, user, id, cx: Ctx| {
                respond(route, async move {
                    cx.admin().await?;
                    revoke(&cx, user, id).await
                })
            });
    mine.or(create_mine)
        .unify()
        .or(revoke_mine)
        .unify()
        .or(theirs)
        .unify()
        .or(create_theirs)
        .unify()
        .or(revoke_theirs)
        .unify()
        .boxed()
}

async fn list(cx: &Ctx, user: UserId) -> ApiResult<Response> {
    ok_json(&cx.db(move |c| c.client_credentials(user)).await?)
}

async fn create(cx: &Ctx, user: UserId, body: BodyStream) -> ApiResult<Response> {
    let CreateCredential { kind, name } = read_json(body).await?;
    let (secret, stored) = match kind {
        CredentialKind::AppPassword => {
            let seed = new_seed();
            (cx.app.subsonic.key().password(&seed), seed)
        }
        CredentialKind::ApiKey => new_api_key(),
    };
    let now = unix_now();
    let credential = cx
        .db(move |c| c.create_client_credential(user, kind, &name, &stored, now))
        .await?;
    tracing::info!(
        user,
        credential = credential.id,
        "created {} `{}`",
        kind.as_str(),
        credential.name
    );
    Ok(json(
        StatusCode::CREATED,
        &NewClientCredential { credential, secret },
    ))
}

async fn revoke(cx: &Ctx, user: UserId, id: CredentialId) -> ApiResult<Response> {
    cx.db(move |c| c.delete_client_credential(user, id)).await?;
    cx.app.subsonic.forget_user(user);
    no_content()
}
