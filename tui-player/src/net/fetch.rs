//! Loading a [`Listing`]: one API call, its answer returned as it came.

use cadenza_api::{Client, ClientError, PageRequest};

use super::types::{Fetched, Listing};

/// Rows per page of long lists.
const PAGE: u32 = 100;

pub(super) async fn fetch(
    client: &Client,
    listing: &Listing,
    offset: u32,
) -> Result<Fetched, ClientError> {
    let page = PageRequest {
        limit: PAGE,
        offset,
    };
    Ok(match listing {
        Listing::Artists => Fetched::Artists(client.artists(page).await?),
        Listing::Albums => Fetched::Albums(client.albums(page).await?),
        Listing::Genres => Fetched::Genres(client.genres().await?),
        Listing::Genre(name) => Fetched::GenreSongs(client.genre_songs(name, page).await?),
        Listing::Playlists => Fetched::Playlists(client.playlists(page).await?),
        Listing::Playlist(id) => Fetched::Playlist(client.playlist(*id).await?),
        Listing::Podcasts => Fetched::Podcasts(client.podcasts(page).await?),
        Listing::Podcast(id) => Fetched::Podcast(client.podcast(*id).await?),
        Listing::Hot => Fetched::Hot(client.hot(30, 100).await?),
        Listing::Artist(id) => Fetched::Artist(client.artist(*id).await?),
        Listing::Album(id) => Fetched::Album(client.album(*id).await?),
    })
}
