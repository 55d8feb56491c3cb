//! Search: prefixes, case and diacritics, CJK, ranking, groups, paging, totals, and hostile
//! input. (Bulk inserts are here too: their songs must be found.)

use super::{song, user, Subject};
use crate::query::{RANK_WINDOW, TOTAL_CAP};
use crate::{BulkInsert, Catalog, CatalogError};
use cadenza_api::{CreatePlaylist, CreatePodcast, Page, PageRequest, SearchType};

fn titles(cat: &dyn Catalog, q: &str) -> Vec<String> {
    let r = cat
        .search(q, SearchType::Song, PageRequest::default(), 0)
        .unwrap();
    r.songs.items.into_iter().map(|s| s.title).collect()
}

fn library(cat: &dyn Catalog) {
    let songs = [
        (1, "Hey Jude", "The Beatles", "Past Masters", Some("Rock")),
        (2, "Beat It", "Michael Jackson", "Thriller", Some("Pop")),
        (3, "Jóga", "Björk", "Homogenic", Some("Electronic")),
        (4, "序曲", "坂本龍一", "静かな波形", Some("Ambient")),
        (5, "Tokyo Sine", "坂本龍一", "静かな波形", Some("Ambient")),
        (
            6,
            "Rock Lobster",
            "The B-52's",
            "The B-52's",
            Some("New Wave"),
        ),
        (7, "Let It Be", "The Beatles", "Let It Be", Some("Rock")),
    ];
    for (n, title, artist, album, genre) in songs {
        let mut s = song(n, title, artist, album);
        s.genre = genre.map(Into::into);
        cat.insert_song(&s, 0).unwrap();
    }
}

fn prefixes_find_words_as_they_are_typed(subject: &Subject) {
    let cat = &**subject;
    library(cat);
    assert_eq!(titles(cat, "jud"), ["Hey Jude"]);
    let beat = titles(cat, "beat");
    assert_eq!(beat.len(), 3, "{beat:?}");
    assert_eq!(titles(cat, "beatles let"), ["Let It Be"]);
    assert!(titles(cat, "beatlesz").is_empty());
}

/// Short words among longer ones (which a backend may check row by row instead of looking
/// them up) still have to match, and their matches still have to hold every word.
fn short_words_among_longer_ones_still_count(subject: &Subject) {
    let cat = &**subject;
    library(cat);
    assert_eq!(titles(cat, "the beatles let"), ["Let It Be"]);
    assert_eq!(titles(cat, "let it be beatles the"), ["Let It Be"]);
    assert!(titles(cat, "beatles past xy").is_empty());
    assert_eq!(
        titles(cat, "beatles past ro"),
        ["Hey Jude"],
        "its genre is Rock"
    );
    assert_eq!(titles(cat, "beatles past ma"), ["Hey Jude"]);
    assert_eq!(titles(cat, "b 52 rock lobster"), ["Rock Lobster"]);
}

fn diacritics_and_case_do_not_matter(subject: &Subject) {
    let cat = &**subject;
    library(cat);
    assert_eq!(titles(cat, "bjork"), ["Jóga"]);
    assert_eq!(titles(cat, "BJÖRK"), ["Jóga"]);
    assert_eq!(titles(cat, "joga"), ["Jóga"]);
    assert_eq!(titles(cat, "bjo\u{308}rk"), ["Jóga"], "decomposed ö");
}

fn cjk_names_match_anywhere_inside(subject: &Subject) {
    let cat = &**subject;
    library(cat);
    for q in ["坂本", "坂本龍一", "龍一", "静か", "波形"] {
        assert_eq!(titles(cat, q).len(), 2, "{q}");
    }
    assert_eq!(titles(cat, "序"), ["序曲"]);
    assert_eq!(titles(cat, "tokyo 坂本"), ["Tokyo Sine"]);
    let r = cat
        .search("龍一", SearchType::Artist, PageRequest::default(), 0)
        .unwrap();
    assert_eq!(r.artists.items[0].name, "坂本龍一");
    // No romanisation is stored, so the Latin reading finds nothing.
    assert!(titles(cat, "sakamoto").is_empty());
}

fn title_matches_rank_above_other_columns(subject: &Subject) {
    let cat = &**subject;
    library(cat);
    // "rock" is the title of one song and the genre of two others; equal scores go
    // newest first.
    assert_eq!(
        titles(cat, "rock"),
        ["Rock Lobster", "Let It Be", "Hey Jude"]
    );
    // "beat": Beat It (title) before the Beatles songs (artist).
    assert_eq!(titles(cat, "beat")[0], "Beat It");
}

fn results_are_grouped_and_every_group_is_paged_with_a_total(subject: &Subject) {
    let cat = &**subject;
    library(cat);
    let owner = user(cat, "owner");
    let other = user(cat, "other");
    cat.create_playlist(
        owner,
        &CreatePlaylist {
            name: "Beatles forever".into(),
            public: true,
        },
        0,
    )
    .unwrap();
    cat.create_playlist(
        owner,
        &CreatePlaylist {
            name: "Beatles secret".into(),
            public: false,
        },
        0,
    )
    .unwrap();
    let pod = CreatePodcast {
        title: "Beat Talk".into(),
        author: None,
        description: None,
        feed_url: None,
    };
    cat.create_podcast(&pod, 0).unwrap();

    let all = cat
        .search(
            "beat",
            SearchType::All,
            PageRequest {
                limit: 2,
                offset: 0,
            },
            other,
        )
        .unwrap();
    assert_eq!(all.query, "beat");
    assert_eq!(
        (all.songs.total, all.songs.items.len(), all.songs.limit),
        (3, 2, 2)
    );
    assert_eq!(all.artists.items[0].name, "The Beatles");
    assert_eq!(
        all.albums.total, 2,
        "albums by the Beatles match on their artist"
    );
    let names: Vec<&str> = all
        .playlists
        .items
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["Beatles forever"],
        "another user's private playlist stays hidden"
    );
    assert_eq!(all.playlists.total, 1);
    assert_eq!(all.podcasts.items[0].title, "Beat Talk");
    let mine = cat
        .search(
            "beatles",
            SearchType::Playlist,
            PageRequest::default(),
            owner,
        )
        .unwrap();
    assert_eq!(mine.playlists.total, 2);

    let second = cat
        .search(
            "beat",
            SearchType::Song,
            PageRequest {
                limit: 2,
                offset: 2,
            },
            other,
        )
        .unwrap();
    assert_eq!((second.songs.total, second.songs.items.len()), (3, 1));
    let past = cat
        .search(
            "beat",
            SearchType::Song,
            PageRequest {
                limit: 2,
                offset: 10,
            },
            other,
        )
        .unwrap();
    assert_eq!((past.songs.total, past.songs.items.len()), (3, 0));
    let only_songs = cat
        .search("beat", SearchType::Song, PageRequest::default(), other)
        .unwrap();
    assert!(only_songs.artists.items.is_empty() && only_songs.podcasts.items.is_empty());
    let albums = cat
        .search("thrill", SearchType::Album, PageRequest::default(), other)
        .unwrap();
    assert_eq!(albums.albums.items[0].title, "Thriller");
}

fn broad_queries_rank_a_window_but_count_and_page_everything(subject: &Subject) {
    let cat = &**subject;
    let n = RANK_WINDOW + 150;
    // Titles of 2 to 5 words, so bm25 scores differ and a page order that changed with
    // the page asked for would show up as repeats.
    let batch: Vec<_> = (0..n)
        .map(|i| {
            song(
                i,
                &format!("Common{} {i}", " x".repeat(i as usize % 4)),
                "Many",
                "Lots",
            )
        })
        .collect();
    subject.bulk_insert_songs(&batch);
    let mut exact = song(n, "Common", "Rare", "Rare");
    exact.genre = Some("Common".into());
    cat.insert_song(&exact, 0).unwrap();
    let search = |limit, offset| {
        cat.search("common", SearchType::Song, PageRequest { limit, offset }, 0)
            .unwrap()
            .songs
    };
    let first = search(5, 0);
    assert_eq!(first.total, n + 1);
    assert_eq!(
        first.items[0].title, "Common",
        "the best match of the window comes first"
    );
    // Pages beyond the window still work and the last one is short.
    let last = search(100, n as u32 - 50);
    assert_eq!((last.items.len(), last.total), (51, n + 1));
    let past = search(100, n as u32 + 10);
    assert_eq!((past.items.len(), past.total), (0, n + 1));
    // Every song appears exactly once across the pages.
    let mut seen = std::collections::HashSet::new();
    for offset in (0..=n as u32).step_by(333) {
        for s in search(333, offset).items {
            assert!(seen.insert(s.id), "song {} on two pages", s.id);
        }
    }
    assert_eq!(seen.len() as u64, n + 1);
}

fn totals_beyond_the_cap_are_reported_as_lower_bounds(subject: &Subject) {
    let cat = &**subject;
    // TOTAL_CAP + 1 songs say "common"; all but the first are by "Exact", so that
    // word matches exactly TOTAL_CAP songs.
    let batch: Vec<_> = (0..=TOTAL_CAP)
        .map(|i| {
            let artist = if i == 0 { "Other" } else { "Exact" };
            song(i, &format!("Common {i}"), artist, "Lots")
        })
        .collect();
    subject.bulk_insert_songs(&batch);
    let songs = |q, limit, offset| {
        cat.search(q, SearchType::All, PageRequest { limit, offset }, 0)
            .unwrap()
            .songs
    };
    fn total<T>(p: &Page<T>) -> (u64, bool) {
        (p.total, p.total_is_lower_bound)
    }

    let broad = songs("common", 20, 0);
    assert_eq!((total(&broad), broad.items.len()), ((TOTAL_CAP, true), 20));
    // Counted without a rank window (offset beyond it), the same.
    assert_eq!(total(&songs("common", 20, 3_000)), (TOTAL_CAP, true));
    // A page past the cap still comes back and proves more.
    let past = songs("common", 5, TOTAL_CAP as u32 - 2);
    assert_eq!(past.items.len(), 3);
    assert_eq!(total(&past), (TOTAL_CAP + 1, true));

    assert_eq!(total(&songs("exact", 20, 0)), (TOTAL_CAP, false));
    assert_eq!(total(&songs("exact", 20, 3_000)), (TOTAL_CAP, false));
    assert_eq!(total(&songs("other", 20, 0)), (1, false));
    let artists = cat
        .search("exact", SearchType::All, PageRequest::default(), 0)
        .unwrap()
        .artists;
    assert_eq!(total(&artists), (1, false));
}

fn deleted_songs_leave_the_results_and_ids_come_back_as_they_were(subject: &Subject) {
    let cat = &**subject;
    library(cat);
    let ids = |q| {
        cat.search(q, SearchType::Song, PageRequest::default(), 0)
            .unwrap()
            .songs
            .items
            .into_iter()
            .map(|s| (s.id, s.title))
            .collect::<Vec<_>>()
    };
    let beatles = ids("beatles");
    assert_eq!(beatles.len(), 2);
    for (id, title) in &beatles {
        assert!(*id > 0);
        assert_eq!(&cat.song(*id).unwrap().title, title, "song {id}");
    }
    // Newest first among equal scores, by id.
    assert!(beatles[0].0 > beatles[1].0, "{beatles:?}");
    cat.delete_song(beatles[0].0).unwrap();
    assert_eq!(ids("beatles"), beatles[1..]);
    let total = cat
        .search("beatles", SearchType::Song, PageRequest::default(), 0)
        .unwrap()
        .songs
        .total;
    assert_eq!(total, 1);
}

fn windows_count_and_pages_go_from_the_newest_matches_back(subject: &Subject) {
    let cat = &**subject;
    // Identical titles score alike, so the window holds the newest RANK_WINDOW and the
    // pages after it continue with the next older ones.
    let n = RANK_WINDOW + 40;
    let batch: Vec<_> = (0..n)
        .map(|i| song(i, "Same Title", "Artist", "Album"))
        .collect();
    subject.bulk_insert_songs(&batch);
    let page = |offset, limit| {
        cat.search("same", SearchType::Song, PageRequest { limit, offset }, 0)
            .unwrap()
            .songs
    };
    let first = page(0, 3);
    assert_eq!(first.total, n);
    let first_ids: Vec<i64> = first.items.iter().map(|s| s.id).collect();
    let max_id = first_ids[0];
    assert_eq!(first_ids, [max_id, max_id - 1, max_id - 2]);
    assert_eq!(max_id, n as i64, "ids start at 1");
    let across: Vec<i64> = page(RANK_WINDOW as u32 - 2, 4)
        .items
        .iter()
        .map(|s| s.id)
        .collect();
    let w = RANK_WINDOW as i64;
    assert_eq!(
        across,
        [max_id - w + 2, max_id - w + 1, max_id - w, max_id - w - 1]
    );
}

fn renamed_playlists_are_found_by_their_new_name_only(subject: &Subject) {
    let cat = &**subject;
    library(cat);
    let owner = user(cat, "owner");
    let p = cat
        .create_playlist(
            owner,
            &CreatePlaylist {
                name: "Morning".into(),
                public: true,
            },
            0,
        )
        .unwrap();
    let update = cadenza_api::UpdatePlaylist {
        name: Some("Evening".into()),
        public: None,
    };
    cat.update_playlist(p.id, owner, &update, 1).unwrap();
    let find = |q| {
        cat.search(q, SearchType::Playlist, PageRequest::default(), owner)
            .unwrap()
            .playlists
            .total
    };
    assert_eq!((find("morning"), find("evening")), (0, 1));
    cat.delete_playlist(p.id, owner).unwrap();
    assert_eq!(find("evening"), 0);
}

fn hostile_text_gives_results_or_nothing_never_an_error(subject: &Subject) {
    let cat = &**subject;
    library(cat);
    let big = "a".repeat(10 * 1024);
    let many = "beat ".repeat(2_048);
    let hostile = [
        "\"",
        "\"\"",
        "'",
        "beat\"",
        "\"beat",
        "AND(",
        "AND",
        "OR",
        "NOT",
        "beat AND",
        "*",
        "**",
        "beat*",
        "NEAR(",
        "NEAR(a b, 2)",
        "-x",
        "-",
        "a:b",
        "title:beat",
        "^",
        "^beat",
        "(",
        ")",
        "{title}: beat",
        "+",
        "beat -jude",
        "\\",
        "%",
        "_",
        ";DROP TABLE songs;--",
        "🎵",
        "beat 🎵",
        "\u{0}",
        "beat\u{0}jude",
        "\u{202e}",
        "\u{feff}",
        "   ",
        "",
        &big,
        &many,
        "ß",
        "İ",
        "ﬁ",
    ];
    for q in hostile {
        for kind in [SearchType::All, SearchType::Song, SearchType::Playlist] {
            let r = cat.search(
                q,
                kind,
                PageRequest {
                    limit: 10,
                    offset: 5,
                },
                0,
            );
            assert!(
                r.is_ok(),
                "{:?}: {r:?}",
                q.chars().take(20).collect::<String>()
            );
        }
    }
    assert!(
        titles(cat, "beat\"").len() == 3,
        "a stray quote is just a separator"
    );
    assert_eq!(
        titles(cat, "jude:hey"),
        ["Hey Jude"],
        "column filters are not syntax"
    );
    assert!(
        cat.songs(PageRequest::default()).unwrap().total == 7,
        "no table was dropped"
    );
}

fn bulk_inserts_are_idempotent_and_searchable(subject: &Subject) {
    let cat = &**subject;
    let batch: Vec<_> = (0..50)
        .map(|n| {
            song(
                n,
                &format!("Track {n}"),
                ["Ann", "Bo", "Cy", "Di", "Ed"][n as usize % 5],
                "Album",
            )
        })
        .collect();
    let done = subject.bulk_insert_songs(&batch);
    assert_eq!(
        done,
        BulkInsert {
            inserted: 50,
            existing: 0
        }
    );
    let again = subject.bulk_insert_songs(&batch[..10]);
    assert_eq!(
        again,
        BulkInsert {
            inserted: 0,
            existing: 10
        }
    );
    assert_eq!(cat.artists(PageRequest::default()).unwrap().total, 5);
    assert_eq!(
        cat.albums(PageRequest::default()).unwrap().total,
        5,
        "one album per album artist"
    );
    let found = cat
        .search("track 4", SearchType::Song, PageRequest::default(), 0)
        .unwrap();
    assert_eq!(found.songs.total, 11, "4 and 40..49");
}

fn an_invalid_song_fails_the_whole_batch_and_names_it(subject: &Subject) {
    let cat = &**subject;
    let mut batch: Vec<_> = (0..3).map(|n| song(n, "T", "A", "B")).collect();
    batch[2].title = String::new();
    let err = subject.try_bulk_insert_songs(&batch).unwrap_err();
    assert!(
        matches!(&err, CatalogError::Invalid(m) if m == "song #2 of the batch: song title is empty"),
        "{err}"
    );
    assert_eq!(cat.songs(PageRequest::default()).unwrap().total, 0);
}

super::both!(
    prefixes_find_words_as_they_are_typed,
    short_words_among_longer_ones_still_count,
    diacritics_and_case_do_not_matter,
    cjk_names_match_anywhere_inside,
    title_matches_rank_above_other_columns,
    results_are_grouped_and_every_group_is_paged_with_a_total,
    broad_queries_rank_a_window_but_count_and_page_everything,
    totals_beyond_the_cap_are_reported_as_lower_bounds,
    deleted_songs_leave_the_results_and_ids_come_back_as_they_were,
    windows_count_and_pages_go_from_the_newest_matches_back,
    renamed_playlists_are_found_by_their_new_name_only,
    hostile_text_gives_results_or_nothing_never_an_error,
    bulk_inserts_are_idempotent_and_searchable,
    an_invalid_song_fails_the_whole_batch_and_names_it,
);

/// Where the engines fold letters differently. FTS5's `remove_diacritics 2` strips marks
/// that decompose off a letter; PostgreSQL's `unaccent` also maps letters that do not
/// decompose (`ø`, `ł`, `đ`, `ß`, `æ`, `œ`, ligatures) to their plain spelling. Everything
/// else (case, decomposable accents, CJK) matches alike, as the tests above show on both.
fn where_diacritic_folding_differs(subject: &Subject) {
    let cat = &**subject;
    let names = ["Søren", "Łódź", "Đorđe", "Straße", "Æther", "Cœur", "ﬁnal"];
    for (n, name) in names.iter().enumerate() {
        cat.insert_song(&song(n as u64, name, "Folding", "Cases"), 0)
            .unwrap();
    }
    // (query, the title it is meant to find, found only where unaccent folds).
    let cases = [
        ("søren", "Søren", false),
        ("soren", "Søren", true),
        ("łódź", "Łódź", false),
        ("lodz", "Łódź", true),
        ("đorđe", "Đorđe", false),
        ("dorde", "Đorđe", true),
        ("straße", "Straße", false),
        ("strasse", "Straße", true),
        ("æther", "Æther", false),
        ("aether", "Æther", true),
        ("cœur", "Cœur", false),
        ("coeur", "Cœur", true),
        ("final", "ﬁnal", true),
    ];
    for (query, title, only_unaccent) in cases {
        let found = titles(cat, query).contains(&title.to_string());
        let expected = !only_unaccent || subject.is_postgres();
        assert_eq!(found, expected, "{query:?} finds {title:?}");
    }
}

super::both!(where_diacritic_folding_differs);
