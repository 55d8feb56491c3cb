//! Reading an RSS podcast feed into what the server needs: the show and its episodes' audio.

use chrono::DateTime;
use thiserror::Error;
use url::Url;

#[derive(Debug, Error)]
pub enum FeedError {
    #[error("the feed is not valid RSS: {0}")]
    Invalid(String),
    #[error("the feed has no <title>; is this a podcast feed?")]
    NoTitle,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Feed {
    pub title: String,
    pub author: Option<String>,
    pub description: Option<String>,
    pub episodes: Vec<FeedEpisode>,
    /// Items without an audio enclosure (text posts): nothing to ingest.
    pub items_without_audio: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeedEpisode {
    /// The item's `<guid>`, or its enclosure URL when it has none.
    pub guid: String,
    pub title: Option<String>,
    pub description: Option<String>,
    /// Unix seconds, from `<pubDate>`.
    pub published_at: Option<i64>,
    /// The enclosure, resolved against the feed URL.
    pub url: Url,
    /// The enclosure's declared length, when it looks real (feeds often say 0).
    pub length: Option<u64>,
}

pub fn parse(xml: &[u8], feed_url: &Url) -> Result<Feed, FeedError> {
    let channel = rss::Channel::read_from(xml).map_err(|e| FeedError::Invalid(e.to_string()))?;
    let title = channel.title().trim().to_string();
    if title.is_empty() {
        return Err(FeedError::NoTitle);
    }
    let author = channel
        .itunes_ext()
        .and_then(|itunes| itunes.author())
        .or(channel.managing_editor())
        .and_then(non_empty);
    let description = non_empty(channel.description());
    let mut episodes = Vec::new();
    let mut items_without_audio = 0;
    for item in channel.items() {
        let Some(url) = item
            .enclosure()
            .and_then(|enclosure| feed_url.join(enclosure.url().trim()).ok())
            .filter(|url| matches!(url.scheme(), "http" | "https"))
        else {
            items_without_audio += 1;
            continue;
        };
        let guid = item
            .guid()
            .map(|guid| guid.value().trim().to_string())
            .filter(|guid| !guid.is_empty())
            .unwrap_or_else(|| url.to_string());
        episodes.push(FeedEpisode {
            guid,
            title: item.title().and_then(non_empty),
            description: item
                .description()
                .or_else(|| item.itunes_ext().and_then(|i| i.summary()))
                .and_then(non_empty),
            published_at: item.pub_date().and_then(parse_rfc2822),
            length: item
                .enclosure()
                .and_then(|e| e.length().trim().parse().ok())
                .filter(|&n: &u64| n > 0),
            url,
        });
    }
    Ok(Feed {
        title,
        author,
        description,
        episodes,
        items_without_audio,
    })
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// RSS dates (RFC 822/2822): `Wed, 02 Oct 2002 15:00:00 +0200`, `2 Oct 2002 13:00 GMT`.
/// Unix seconds, or `None` for a date that does not parse (feeds get these wrong often;
/// the episode is still ingested, just without a date).
pub fn parse_rfc2822(text: &str) -> Option<i64> {
    // chrono reads the RFC's grammar strictly; feeds bend it three ways that lose nothing: a
    // weekday that is wrong or spelt out (it repeats the date, so it is dropped), a month
    // spelt out (cut to its three letters), and no zone at all (read as UTC).
    let date = text.split_once(',').map_or(text, |(_weekday, rest)| rest);
    let mut words: Vec<&str> = date.split_whitespace().collect();
    if let Some(month) = words.get_mut(1) {
        *month = month.get(..3).unwrap_or(month);
    }
    if words.len() == 4 {
        words.push("GMT");
    }
    DateTime::parse_from_rfc2822(&words.join(" "))
        .ok()
        .map(|t| t.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FEED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
  <channel>
    <title>Cadenza Radio</title>
    <link>http://example.test/</link>
    <description>Talk about tones.</description>
    <itunes:author>The Oscillators</itunes:author>
    <item>
      <title>Episode 2</title>
      <guid isPermaLink="false">cadenza-weekly-02</guid>
      <pubDate>Tue, 09 Jan 2024 10:00:00 +0100</pubDate>
      <enclosure url="episodes/02.m4a" length="56294" type="audio/mp4"/>
    </item>
    <item>
      <title>Episode 1</title>
      <description>The first one.</description>
      <pubDate>not a date</pubDate>
      <enclosure url="http://cdn.test/01.mp3" length="0" type="audio/mpeg"/>
    </item>
    <item>
      <title>Just a blog post</title>
    </item>
  </channel>
</rss>"#;

    #[test]
    fn a_feed_becomes_a_podcast_and_episodes() {
        let base = Url::parse("http://example.test/podcast/feed.xml").unwrap();
        let feed = parse(FEED.as_bytes(), &base).unwrap();
        assert_eq!(feed.title, "Cadenza Radio");
        assert_eq!(feed.author.as_deref(), Some("The Oscillators"));
        assert_eq!(feed.description.as_deref(), Some("Talk about tones."));
        assert_eq!(feed.items_without_audio, 1);
        assert_eq!(feed.episodes.len(), 2);

        let two = &feed.episodes[0];
        assert_eq!(two.guid, "cadenza-weekly-02");
        assert_eq!(
            two.url.as_str(),
            "http://example.test/podcast/episodes/02.m4a"
        );
        assert_eq!(two.length, Some(56294));
        assert_eq!(two.published_at, Some(1_704_790_800));

        let one = &feed.episodes[1];
        // No <guid>: the enclosure URL identifies the episode.
        assert_eq!(one.guid, "http://cdn.test/01.mp3");
        assert_eq!(one.description.as_deref(), Some("The first one."));
        assert_eq!(one.published_at, None);
        assert_eq!(one.length, None);
    }

    #[test]
    fn broken_feeds_are_refused() {
        let base = Url::parse("http://example.test/").unwrap();
        assert!(matches!(
            parse(b"<html><body>hi</body></html>", &base),
            Err(FeedError::Invalid(_))
        ));
        let untitled = "<rss version=\"2.0\"><channel><title> </title><link>x</link><description>d</description></channel></rss>";
        assert!(matches!(
            parse(untitled.as_bytes(), &base),
            Err(FeedError::NoTitle)
        ));
    }

    #[test]
    fn rss_dates() {
        assert_eq!(parse_rfc2822("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_rfc2822("Wed, 02 Oct 2002 13:00:00 GMT"),
            Some(1_033_563_600)
        );
        assert_eq!(
            parse_rfc2822("Wed, 02 Oct 2002 15:00:00 +0200"),
            Some(1_033_563_600)
        );
        assert_eq!(parse_rfc2822("2 Oct 2002 09:00 EDT"), Some(1_033_563_600));
        assert_eq!(
            parse_rfc2822("02 October 02 13:00:00 UT"),
            Some(1_033_563_600)
        );
        assert_eq!(parse_rfc2822("2002-10-02T13:00:00Z"), None);
        assert_eq!(parse_rfc2822("Wed, 32 Oct 2002 13:00:00 GMT"), None);
        assert_eq!(parse_rfc2822("Wed, 02 Oct 2002 13:00:00 +2"), None);
    }

    #[test]
    fn rss_dates_as_feeds_write_them() {
        // 2024-01-09 10:00 UTC, a Tuesday.
        const TEN_UTC: i64 = 1_704_794_400;
        let cases = [
            ("Tue, 09 Jan 2024 10:00:00 GMT", TEN_UTC),
            ("Tue, 09 Jan 2024 10:00:00 UT", TEN_UTC),
            ("Tue, 09 Jan 2024 10:00:00 +0000", TEN_UTC),
            ("Tue, 09 Jan 2024 05:00:00 EST", TEN_UTC),
            ("Tue, 09 Jan 2024 06:00:00 EDT", TEN_UTC),
            ("Tue, 09 Jan 2024 02:00 PST", TEN_UTC),
            ("Tue, 09 Jan 2024 11:00:00 +0100", TEN_UTC),
            ("Tue, 09 Jan 2024 04:30:00 -0530", TEN_UTC),
            ("09 Jan 2024 10:00:00 GMT", TEN_UTC),
            ("Tue, 9 Jan 2024 10:00:00 GMT", TEN_UTC),
            ("Tue, 09 Jan 24 10:00:00 GMT", TEN_UTC),
            ("tue, 09 jan 2024 10:00:00 gmt", TEN_UTC),
            ("Tuesday, 09 January 2024 10:00:00 GMT", TEN_UTC),
            ("Mon, 09 Jan 2024 10:00:00 GMT", TEN_UTC),
            ("Tue, 09 Jan 2024 10:00:00", TEN_UTC),
            ("  Tue,  09 Jan 2024   10:00:00 GMT  ", TEN_UTC),
            ("Tue, 09 Jan 2024 10:00:00 GMT (Greenwich)", TEN_UTC),
            ("Sun, 09 Jan 1994 10:00:00 GMT", 758_109_600),
            ("Sun, 09 Jan 94 10:00:00 GMT", 758_109_600),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_rfc2822(text), Some(expected), "{text}");
        }
        for garbage in [
            "",
            "yesterday",
            "Tue, 09 Jan 2024",
            "Tue, 09 Foo 2024 10:00:00 GMT",
            "Tue, 09 Jan 2024 25:00:00 GMT",
            "Tue, 30 Feb 2024 10:00:00 GMT",
            "Tue, 09 Jan 2024 10:00:00 CEST",
            "1704794400",
        ] {
            assert_eq!(parse_rfc2822(garbage), None, "{garbage}");
        }
    }
}
