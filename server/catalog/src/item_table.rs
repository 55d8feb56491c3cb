//! Where each kind of starrable [`Item`] keeps its marks: the same tables in every backend.

use crate::Item;

/// The table, item column and item table of a kind of item.
pub(crate) struct Kind {
    pub(crate) name: &'static str,
    pub(crate) table: &'static str,
    pub(crate) column: &'static str,
    pub(crate) items: &'static str,
}

pub(crate) const SONG: Kind = Kind {
    name: "song",
    table: "song_annotations",
    column: "song_id",
    items: "songs",
};
pub(crate) const ALBUM: Kind = Kind {
    name: "album",
    table: "album_annotations",
    column: "album_id",
    items: "albums",
};
pub(crate) const ARTIST: Kind = Kind {
    name: "artist",
    table: "artist_annotations",
    column: "artist_id",
    items: "artists",
};

pub(crate) fn kind(item: Item) -> (&'static Kind, i64) {
    match item {
        Item::Song(id) => (&SONG, id),
        Item::Album(id) => (&ALBUM, id),
        Item::Artist(id) => (&ARTIST, id),
    }
}

/// The item of `kind` with this id.
pub(crate) fn item(kind: &Kind, id: i64) -> Item {
    match kind.name {
        "song" => Item::Song(id),
        "album" => Item::Album(id),
        _ => Item::Artist(id),
    }
}
