//! What `cadenza-admin capacity --calibrate` does with the library: take
//! averages measured on a small live server and extrapolate them to the
//! target scale. Run: `cargo run -p cadenza-capacity --example calibrated`.

use cadenza_capacity::{render_estimate, ByteUnits, Calibration, Format, Scenario};

fn main() -> Result<(), cadenza_capacity::Error> {
    // Figures a small server might report: 7 MiB songs, richer metadata,
    // and 3.2 plays per registered user per day.
    let measured = Calibration {
        avg_song_bytes: Some(7_340_032),
        song_metadata_bytes: Some(412),
        user_metadata_bytes: Some(2_300),
        plays_per_user_per_day: Some(3.2),
        dau_share: None,
        cdn_hit_ratio: None,
        server_rps: None,
    };
    let mut scenario = Scenario::defaults();
    scenario.calibrate(&measured)?;
    let estimate = scenario.estimate()?;
    print!(
        "{}",
        render_estimate(&estimate, Format::Table, ByteUnits::Si)
    );
    Ok(())
}
