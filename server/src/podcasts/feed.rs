//! Reading an RSS podcast feed into what the server needs: the show and its episodes' audio.

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
    let text = text.trim();
    let text = match text.split_once(',') {
        Some((_weekday, rest)) => rest,
        None => text,
    };
    let mut parts = text.split_whitespace();
    let day: u32 = parts.next()?.parse().ok()?;
    let month = month_number(parts.next()?)?;
    let year: i64 = match parts.next()? {
        y if y.len() == 2 => {
            let y: i64 = y.parse().ok()?;
            if y < 50 {
                2000 + y
            } else {
                1900 + y
            }
        }
        y => y.parse().ok()?,
    };
    let mut clock = parts.next()?.split(':');
    let hour: i64 = clock.next()?.parse().ok()?;
    let minute: i64 = clock.next()?.parse().ok()?;
    let second: i64 = match clock.next() {
        Some(s) => s.parse().ok()?,
        None => 0,
    };
    let offset = zone_offset_secs(parts.next().unwrap_or("GMT"))?;
    if !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let midnight = chrono::NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?
        .and_hms_opt(0, 0, 0)?
        .and_utc()
        .timestamp();
    Some(midnight + hour * 3600 + minute * 60 + second - offset)
}

fn month_number(name: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let prefix = name.get(..3)?.to_ascii_lowercase();
    MONTHS
        .iter()
        .position(|m| *m == prefix)
        .map(|i| i as u32 + 1)
}

fn zone_offset_secs(zone: &str) -> Option<i64> {
    let named = match zone.to_ascii_uppercase().as_str() {
        "GMT" | "UT" | "UTC" | "Z" => Some(0),
        "EST" => Some(-5),
        "EDT" => Some(-4),
        "CST" => Some(-6),
        "CDT" => Some(-5),
        "MST" => Some(-7),
        "MDT" => Some(-6),
        "PST" => Some(-8),
        "PDT" => Some(-7),
        _ => None,
    };
    if let Some(hours) = named {
        return Some(hours * 3600);
    }
    let (sign, digits) = match zone.as_bytes().first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i64 = digits[..2].parse().ok()?;
    let minutes: i64 = digits[2..].parse().ok()?;
    Some(sign * (hours * 3600 + minutes * 60))
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
}
