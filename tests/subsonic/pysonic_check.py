"""Drives a running Cadenza server with py-sonic (the Subsonic client library from PyPI,
import `libsonic`) and checks the server's JSON answers against the OpenSubsonic schema.

Run by tests/tests/subsonic_client.rs, which starts the server, uploads the fixtures and
makes the credentials:

    python pysonic_check.py BASE_URL PORT USER APP_PASSWORD API_KEY

Prints one line per check; exits non-zero on the first failure.
"""

import json
import pathlib
import sys
import time
import urllib.parse
import urllib.request

import libsonic
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

BASE, PORT, USER, PASSWORD, API_KEY = sys.argv[1:6]
PORT = int(PORT)
OPENAPI = pathlib.Path(__file__).resolve().parent / "opensubsonic" / "openapi"
CHECKS = 0


def check(condition, what):
    global CHECKS
    if not condition:
        raise AssertionError(what)
    CHECKS += 1
    print(f"ok: {what}")


def retrieve(uri):
    path = pathlib.Path(urllib.parse.urlparse(uri).path)
    return Resource.from_contents(
        json.loads(path.read_text()), default_specification=DRAFT202012
    )


REGISTRY = Registry(retrieve=retrieve)


def schema_for(endpoint):
    folder = OPENAPI / "endpoints" / endpoint
    if folder.is_dir():
        path = folder / (endpoint[0].upper() + endpoint[1:] + "Response.json")
    else:
        path = OPENAPI / "schemas" / "SubsonicResponse.json"
    return Draft202012Validator({"$ref": path.as_uri()}, registry=REGISTRY)


def raw(endpoint, auth=None, **params):
    """A form POST as clients send it; the JSON answer, checked against the schema."""
    query = {"v": "1.16.1", "c": "schema-check", "f": "json"}
    query.update(auth if auth is not None else {"u": USER, "p": PASSWORD})
    query.update(params)
    data = urllib.parse.urlencode(query, doseq=True).encode()
    url = f"{BASE}:{PORT}/rest/{endpoint}.view"
    with urllib.request.urlopen(url, data) as response:
        check(response.status == 200, f"{endpoint}: HTTP 200")
        body = json.load(response)
    errors = sorted(schema_for(endpoint).iter_errors(body), key=lambda e: list(e.path))
    detail = "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
    check(not errors, f"{endpoint} {params}: matches the OpenSubsonic schema {detail}")
    return body["subsonic-response"]


def ids(items):
    return [item["id"] for item in items]


conn = libsonic.Connection(BASE, USER, PASSWORD, port=PORT, appName="py-sonic-e2e")
legacy = libsonic.Connection(
    BASE, USER, PASSWORD, port=PORT, appName="py-sonic-e2e", legacyAuth=True
)

# ---- ping, with token and with p=enc:HEX
check(conn.ping() is True, "ping with a token (t, s)")
check(legacy.ping() is True, "ping with p=enc:HEX")

# ---- search3: an empty query lists everything, page by page
everything = conn.search3("", artistCount=500, albumCount=500, songCount=500)["searchResult3"]
songs = everything["song"]
check(len(songs) >= 3, f"search3 with an empty query lists all {len(songs)} songs")
first_two = conn.search3("", songCount=2, songOffset=0)["searchResult3"]["song"]
next_two = conn.search3("", songCount=2, songOffset=2)["searchResult3"]["song"]
check(
    ids(first_two) + ids(next_two) == ids(songs)[:4],
    "search3 pages through the whole library",
)
word = songs[0]["title"].split()[0]
found = conn.search3(word)["searchResult3"].get("song", [])
check(songs[0]["id"] in ids(found), f"search3 finds {word!r}")

# ---- getAlbum
song = songs[0]
album = conn.getAlbum(song["albumId"])["album"]
check(song["id"] in ids(album["song"]), "getAlbum lists the song")
check(album["songCount"] == len(album["song"]), "getAlbum counts its songs")

# ---- stream, whole and a range
whole = conn.stream(song["id"]).read()
check(len(whole) == song["size"], f"stream sends all {song['size']} bytes")
ranged = libsonic.Connection(
    BASE, USER, PASSWORD, port=PORT, customHeaders={"Range": "bytes=10-109"}
)
part = ranged.stream(song["id"])
check(part.status == 206, "stream answers a range with 206")
check(part.read() == whole[10:110], "the range holds the right bytes")
try:
    conn.stream("tr-999999")
    check(False, "stream of an unknown song fails")
except libsonic.errors.DataNotFoundError:
    check(True, "stream of an unknown song is error 70")

# ---- playlists
created = conn.createPlaylist(name="Road trip", songIds=ids(songs[:3]))["playlist"]
playlist_id = created["id"]
check(ids(created["entry"]) == ids(songs[:3]), "createPlaylist keeps the song order")
conn.updatePlaylist(
    playlist_id,
    name="Road trip, day 2",
    comment="windows down",
    songIdsToAdd=[songs[0]["id"]],
    songIndexesToRemove=[1],
)
got = conn.getPlaylist(playlist_id)["playlist"]
check(got["name"] == "Road trip, day 2", "updatePlaylist renames")
check(got.get("comment") == "windows down", "updatePlaylist sets the comment")
check(
    ids(got["entry"]) == [songs[0]["id"], songs[2]["id"], songs[0]["id"]],
    "updatePlaylist removes by index and appends",
)
replaced = conn.createPlaylist(playlistId=playlist_id, songIds=[songs[1]["id"]])["playlist"]
check(ids(replaced["entry"]) == [songs[1]["id"]], "createPlaylist with playlistId replaces")
check(
    playlist_id in ids(conn.getPlaylists()["playlists"]["playlist"]),
    "getPlaylists lists it",
)

# ---- scrobble: now playing, then the same play sent twice (counted once)
conn.scrobble(song["id"], submission=False)
playing = conn.getNowPlaying()["nowPlaying"]["entry"]
check(any(e["id"] == song["id"] and e["username"] == USER for e in playing), "now playing")
heard = int(time.time()) - 60
conn.scrobble(song["id"], submission=True, listenTime=heard)
conn.scrobble(song["id"], submission=True, listenTime=heard)
check(True, "scrobble accepted twice")

# ---- star, getStarred2
conn.star(sids=[song["id"]], albumIds=[song["albumId"]], artistIds=[song["artistId"]])
starred = conn.getStarred2()["starred2"]
check(song["id"] in ids(starred["song"]), "getStarred2 has the song")
check(song["albumId"] in ids(starred["album"]), "getStarred2 has the album")
check(song["artistId"] in ids(starred["artist"]), "getStarred2 has the artist")
conn.unstar(sids=[song["id"]])
check(song["id"] not in ids(conn.getStarred2()["starred2"].get("song", [])), "unstar")

# ---- every JSON answer against the schema
artist_id = song["artistId"]
raw("ping")
raw("ping", auth={"apiKey": API_KEY})
raw("getLicense")
raw("getOpenSubsonicExtensions", auth={})
raw("getScanStatus")
raw("getUser", username=USER)
raw("getMusicFolders")
raw("getIndexes")
raw("getMusicDirectory", id=artist_id)
raw("getMusicDirectory", id=song["albumId"])
raw("getArtists")
raw("getArtist", id=artist_id)
raw("getAlbum", id=song["albumId"])
raw("getSong", id=song["id"])
raw("getGenres")
raw("getTopSongs", artist=song["artist"])
raw("getSimilarSongs2", id=artist_id)
for kind in ["random", "newest", "frequent", "recent", "alphabeticalByName",
             "alphabeticalByArtist", "starred", "highest"]:
    raw("getAlbumList2", type=kind)
    raw("getAlbumList", type=kind)
raw("getAlbumList2", type="byYear", fromYear=2030, toYear=1900)
raw("getAlbumList2", type="byGenre", genre=song.get("genre", "none"))
raw("getRandomSongs", size=3)
raw("getSongsByGenre", genre=song.get("genre", "none"))
raw("search2", query="")
raw("search3", query=word)
raw("getStarred")
raw("getStarred2")
raw("getNowPlaying")
raw("getPlaylists")
raw("getPlaylist", id=playlist_id)
raw("setRating", id=song["id"], rating=4)
raw("savePlayQueue", id=ids(songs[:2]), current=songs[1]["id"], position=1500)
queue = raw("getPlayQueue")["playQueue"]
check(ids(queue["entry"]) == ids(songs[:2]) and queue["position"] == 1500, "play queue")
raw("getPodcasts")
raw("getNewestPodcasts")
raw("getBookmarks")
for endpoint, params in [
    ("getAlbum", {"id": "al-999999"}),
    ("getAlbum", {}),
    ("nonexistentEndpoint", {}),
]:
    failed = raw(endpoint, **params)
    check(failed["status"] == "failed", f"{endpoint} {params} fails with a document")
raw("ping", auth={"apiKey": "cz_not_a_key"})
raw("deletePlaylist", id=playlist_id)

print(f"pysonic_check: all {CHECKS} checks passed")
