//! The OpenSubsonic API (Subsonic 1.16.1 plus OpenSubsonic extensions) under `/rest`, over
//! the same catalog and store as `/api/v1`, for the many existing Subsonic clients.
//!
//! `/rest/NAME` and `/rest/NAME.view` answer GET and form POST alike ([`params`]); every
//! answer is a `subsonic-response` document in XML, JSON or JSONP ([`response`]) with HTTP
//! 200, errors included (clients expect that), except `stream`, `download` and
//! `getCoverArt`, which send bytes on success. Authentication ([`auth`]) takes app
//! passwords and API keys, never the login password. Handlers live one file per area and
//! reach data only through the catalog and store, like the `/api/v1` handlers.

mod annotation;
mod auth;
mod browsing;
mod ids;
mod lists;
mod media;
mod model;
mod params;
mod playlists;
mod podcasts;
mod queue;
mod response;
mod system;

use std::sync::Arc;

use cadenza_api::User;
use cadenza_catalog::{Catalog, CatalogError, Item};
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::Filter;

use crate::app::App;
use crate::http::{body, ctx, respond, ApiError, BodyStream, Ctx};
pub use auth::SubsonicAuth;
use params::Params;
use response::{Format, Reply};

/// The protocol version this server speaks.
pub const API_VERSION: &str = "1.16.1";

/// A Subsonic error: one of the protocol's codes and a sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: u32,
    pub message: String,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(code: u32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// 0: a generic error (bad values, refused changes, failures).
    pub fn generic(message: impl Into<String>) -> Self {
        Self::new(0, message)
    }

    /// 10: a required parameter is missing.
    pub fn missing(param: &str) -> Self {
        Self::new(10, format!("required parameter `{param}` is missing"))
    }

    /// 50: the user may not do this.
    pub fn not_authorized(message: impl Into<String>) -> Self {
        Self::new(50, message)
    }

    /// 70: the requested data was not found.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(70, message)
    }
}

impl From<CatalogError> for Error {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::NotFound(m) => Error::not_found(m),
            CatalogError::Forbidden(m) => Error::not_authorized(m),
            CatalogError::Conflict(m) | CatalogError::Invalid(m) => Error::generic(m),
            e @ (CatalogError::Storage(_)
            | CatalogError::ReadOnly(_)
            | CatalogError::Unavailable(_)) => ApiError::from(e).into(),
        }
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        let code = match e.status.as_u16() {
            401 => 40,
            403 => 50,
            404 => 70,
            _ => 0,
        };
        Error::new(code, e.message)
    }
}

/// One authenticated request: the caller, their parameters and the services.
pub struct Call {
    pub cx: Ctx,
    pub params: Params,
    pub user: User,
    /// The client's name (`c`), shown in "now playing".
    pub client: String,
    /// The format the answer is written in.
    pub format: Format,
}

impl Call {
    /// Runs a catalog call on the blocking pool.
    pub async fn db<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&dyn Catalog) -> std::result::Result<T, CatalogError> + Send + 'static,
        T: Send + 'static,
    {
        self.cx.db(f).await.map_err(Error::from)
    }

    pub fn app(&self) -> &Arc<App> {
        &self.cx.app
    }

    /// The caller's stars and ratings on `items`.
    pub async fn marks(&self, items: Vec<Item>) -> Result<model::Marks> {
        if items.is_empty() {
            return Ok(model::Marks::default());
        }
        let user = self.user.id;
        Ok(model::Marks(
            self.db(move |c| c.annotations(user, &items)).await?,
        ))
    }

    /// An `ok` answer with one element from typed data (see [`Reply::typed`]).
    pub fn reply(&self, name: &'static str, payload: &impl serde::Serialize) -> Result<Reply> {
        Reply::typed(&self.format, name, payload)
    }

    /// Refuses listeners (50) where the spec reserves an endpoint for admins.
    pub fn require_admin(&self) -> Result<()> {
        match self.user.role {
            cadenza_api::Role::Admin => Ok(()),
            cadenza_api::Role::Listener => Err(Error::not_authorized(format!(
                "user {} is not an admin; only admins may do this",
                self.user.username
            ))),
        }
    }
}

/// Declares the endpoints once: their names, route labels (for metrics) and handlers.
macro_rules! endpoints {
    ($($name:literal => $handler:path,)*) => {
        /// Every endpoint name served (without `.view`).
        pub const ENDPOINTS: &[&str] = &[$($name),*];

        /// The metrics label of an endpoint: its own for known names, one for the rest.
        fn route_label(name: &str) -> &'static str {
            match name {
                $($name => concat!("/rest/", $name),)*
                _ => "/rest/{unknown}",
            }
        }

        async fn dispatch(name: &str, call: Call) -> Result<Reply> {
            match name {
                $($name => $handler(call).await,)*
                other => Err(unknown_endpoint(other)),
            }
        }
    };
}

endpoints! {
    "ping" => system::ping,
    "getLicense" => system::license,
    "getOpenSubsonicExtensions" => system::extensions,
    "getScanStatus" => system::scan_status,
    "getUser" => system::user,
    "getMusicFolders" => browsing::music_folders,
    "getIndexes" => browsing::indexes,
    "getMusicDirectory" => browsing::music_directory,
    "getArtists" => browsing::artists,
    "getArtist" => browsing::artist,
    "getAlbum" => browsing::album,
    "getSong" => browsing::song,
    "getGenres" => browsing::genres,
    "getTopSongs" => browsing::top_songs,
    "getSimilarSongs2" => browsing::similar_songs2,
    "getSimilarSongs" => browsing::similar_songs,
    "getAlbumList" => lists::album_list,
    "getAlbumList2" => lists::album_list2,
    "getRandomSongs" => lists::random_songs,
    "getSongsByGenre" => lists::songs_by_genre,
    "getStarred" => lists::starred,
    "getStarred2" => lists::starred2,
    "search2" => lists::search2,
    "search3" => lists::search3,
    "stream" => media::stream,
    "download" => media::download,
    "getCoverArt" => media::cover_art,
    "getPlaylists" => playlists::list,
    "getPlaylist" => playlists::get,
    "createPlaylist" => playlists::create,
    "updatePlaylist" => playlists::update,
    "deletePlaylist" => playlists::delete,
    "scrobble" => annotation::scrobble,
    "getNowPlaying" => annotation::now_playing,
    "star" => annotation::star,
    "unstar" => annotation::unstar,
    "setRating" => annotation::set_rating,
    "getPodcasts" => podcasts::podcasts,
    "getNewestPodcasts" => podcasts::newest,
    "getPodcastEpisode" => podcasts::episode,
    "refreshPodcasts" => podcasts::refresh,
    "createPodcastChannel" => podcasts::create_channel,
    "deletePodcastChannel" => podcasts::delete_channel,
    "getBookmarks" => queue::bookmarks,
    "createBookmark" => queue::create_bookmark,
    "deleteBookmark" => queue::delete_bookmark,
    "savePlayQueue" => queue::save,
    "getPlayQueue" => queue::get,
}

/// Endpoints any client may call without credentials (OpenSubsonic: discovery).
const WITHOUT_AUTH: &[&str] = &["getOpenSubsonicExtensions"];

fn unknown_endpoint(name: &str) -> Error {
    let shown: String = name.chars().take(64).collect();
    Error::not_found(format!(
        "this server has no Subsonic endpoint `{shown}`; see getOpenSubsonicExtensions and \
         the Subsonic API 1.16.1 for the ones it serves"
    ))
}

/// `/rest/NAME[.view]`, any method; never rejects, so every answer is a Subsonic document.
pub fn routes(app: &Arc<App>) -> BoxedFilter<(Response,)> {
    warp::path("rest")
        .and(warp::path::param::<String>())
        .and(warp::path::end())
        .and(ctx(app))
        .and(body())
        .then(|name: String, cx: Ctx, body: BodyStream| async move {
            let name = name.strip_suffix(".view").unwrap_or(&name).to_string();
            respond(crate::http::RouteLabel(route_label(&name)), async move {
                Ok(answer(cx, &name, body).await)
            })
            .await
        })
        .boxed()
}

async fn answer(cx: Ctx, name: &str, body: BodyStream) -> Response {
    let params = match Params::read(&cx, body).await {
        Ok(params) => params,
        Err(e) => return response::error(&Format::Xml, &e),
    };
    let format = match Format::of(&params) {
        Ok(format) => format,
        Err(e) => return response::error(&Format::Json, &e),
    };
    match call(cx, name, params, format.clone()).await {
        Ok(reply) => reply.into_response(&format),
        Err(e) => response::error(&format, &e),
    }
}

async fn call(cx: Ctx, name: &str, params: Params, format: Format) -> Result<Reply> {
    let client = params.get("c").unwrap_or_default().to_string();
    let user = if WITHOUT_AUTH.contains(&name) {
        // Nobody: these endpoints look at no one's data.
        User {
            id: 0,
            username: String::new(),
            role: cadenza_api::Role::Listener,
            created_at: 0,
        }
    } else {
        params::check_version(&params)?;
        let user = auth::authenticate(&cx, &params).await?;
        if client.trim().is_empty() {
            return Err(Error::missing("c"));
        }
        user
    };
    let call = Call {
        cx,
        params,
        user,
        client,
        format,
    };
    dispatch(name, call).await
}
