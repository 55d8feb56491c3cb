//! What `cadenza-admin capacity --calibrate` does with the library: take
//! averages measured on a small live server and extrapolate them to the
//! target scale. Run: `cargo run -p cadenza-capacity --example calibrated`.

use cadenza_capacity::{
    render_estimate, ByteUnits, Calibration, Format, Measured, PlayRate, Scenario,
};

fn main() -> Result<(), cadenza_capacity::Error> {
    // Figures a small server might report: 7 MiB songs, richer metadata,
    // 3.2 plays per registered user per day, and the listener benchmark's
    // count. Its 40 users are too few for the per-user averages: the report
    // shows them and keeps the assumptions.
    let measured = Calibration {
        avg_song_bytes: Some(Measured {
            value: 7_340_032,
            sample: 4_800,
        }),
        song_metadata_bytes: Some(Measured {
            value: 412,
            sample: 4_800,
        }),
        user_metadata_bytes: Some(Measured {
            value: 2_300,
            sample: 40,
        }),
        plays: Some(PlayRate {
            per_user_per_day: 3.2,
            users: 40,
            plays: 3_840,
            days: 30.0,
        }),
        dau_share: None,
        listeners_per_server: Some(2_400),
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
