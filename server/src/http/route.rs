//! Route paths written once. [`route!`] turns one path into both the warp filter that matches
//! it and the template that labels its metrics, so the two cannot drift apart:
//!
//! ```ignore
//! api_route!("songs" / {id: SongId} / "stream")
//! // matches /api/v1/songs/<SongId>/stream exactly, and extracts
//! // (RouteLabel("/api/v1/songs/{id}/stream"), SongId)
//! ```
//!
//! A segment is a string literal, or `{name: Type}` for a parameter parsed as `Type` (named
//! `{name}` in the template). The label comes first, then the parameters in path order.

/// A route from the root (`route!("healthz")`).
macro_rules! route {
    ($($segment:tt)/+) => {
        ::warp::any()
            .map(|| $crate::http::RouteLabel($crate::http::route::template!($($segment)/+)))
            $(.and($crate::http::route::filter_segment!($segment)))+
            .and(::warp::path::end())
    };
}

/// A route of the API, under `/api/v1`.
macro_rules! api_route {
    ($($segment:tt)/+) => {
        $crate::http::route::route!("api" / "v1" / $($segment)/+)
    };
}

/// The template of a path, as a `&'static str`.
macro_rules! template {
    ($($segment:tt)/+) => {
        concat!($("/", $crate::http::route::template_segment!($segment)),+)
    };
}

macro_rules! template_segment {
    ($name:literal) => {
        $name
    };
    ({ $param:ident : $type:ty }) => {
        concat!("{", stringify!($param), "}")
    };
}

macro_rules! filter_segment {
    ($name:literal) => {
        ::warp::path($name)
    };
    ({ $param:ident : $type:ty }) => {
        ::warp::path::param::<$type>()
    };
}

pub(crate) use {api_route, filter_segment, route, template, template_segment};

#[cfg(test)]
mod tests {
    #[test]
    fn templates_name_parameters_in_braces() {
        assert_eq!(template!("healthz"), "/healthz");
        assert_eq!(
            template!("api" / "v1" / "songs" / {id: i64} / "stream"),
            "/api/v1/songs/{id}/stream"
        );
        assert_eq!(
            template!("playlists" / {id: i64} / "tracks" / {position: u32}),
            "/playlists/{id}/tracks/{position}"
        );
    }
}
