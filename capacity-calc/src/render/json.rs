//! JSON report: every number exact (as a string) and approximate (as a JSON
//! number), with its unit, readable form, and for outputs the formula.

use serde_json::{json, Map, Value};

use crate::estimate::{Estimate, Origin};
use crate::ratio::Ratio;
use crate::series::Series;
use crate::units::{ByteUnits, Unit};

fn number(value: Ratio) -> Value {
    if value.is_integer() {
        if let Ok(n) = u64::try_from(value.numer()) {
            return Value::from(n);
        }
    }
    serde_json::Number::from_f64(value.to_f64()).map_or(Value::Null, Value::Number)
}

fn quantity(value: Ratio, unit: Unit, bytes: ByteUnits) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("value".into(), number(value));
    map.insert("exact".into(), Value::from(value.to_exact_string()));
    map.insert("unit".into(), Value::from(unit.symbol()));
    map.insert("display".into(), Value::from(unit.format(value, bytes)));
    map
}

fn units_name(bytes: ByteUnits) -> &'static str {
    match bytes {
        ByteUnits::Si => "si",
        ByteUnits::Iec => "iec",
    }
}

fn pretty(value: &Value) -> String {
    // Serialising a Value built here cannot fail; fall back to compact text.
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    text.push('\n');
    text
}

fn series_json(series: &Series, bytes: ByteUnits) -> Value {
    let rows: Vec<Value> = series
        .rows
        .iter()
        .map(|row| {
            let values: Map<String, Value> = row
                .values
                .iter()
                .map(|t| {
                    (
                        t.name.to_string(),
                        Value::Object(quantity(t.value, t.unit, bytes)),
                    )
                })
                .collect();
            json!({
                series.axis: Value::Object(quantity(row.axis, series.axis_unit, bytes)),
                "values": values,
            })
        })
        .collect();
    json!({ "axis": series.axis, "title": series.title, "rows": rows })
}

pub(super) fn estimate(estimate: &Estimate, bytes: ByteUnits) -> String {
    let inputs: Vec<Value> = estimate
        .inputs
        .iter()
        .map(|i| {
            let mut map = quantity(i.value, i.spec.unit, bytes);
            map.insert("key".into(), Value::from(i.key()));
            map.insert("flag".into(), Value::from(format!("--{}", i.spec.flag)));
            map.insert("origin".into(), Value::from(i.origin.label(i.spec)));
            map.insert(
                "why".into(),
                Value::from(i.origin.explanation(i.spec, bytes)),
            );
            if let Origin::Measured { assumed, .. } = &i.origin {
                map.insert(
                    "assumed".into(),
                    Value::Object(quantity(*assumed, i.spec.unit, bytes)),
                );
            }
            Value::Object(map)
        })
        .collect();
    let outputs: Vec<Value> = estimate
        .outputs
        .iter()
        .map(|o| {
            let mut map = quantity(o.value, o.spec.unit, bytes);
            map.insert("key".into(), Value::from(o.key()));
            map.insert("label".into(), Value::from(o.spec.label));
            map.insert("section".into(), json!(o.spec.section));
            map.insert("formula".into(), Value::from(o.spec.formula));
            map.insert("substituted".into(), Value::from(o.substituted(bytes)));
            let terms: Vec<Value> = o
                .inputs
                .iter()
                .map(|t| {
                    let mut term = quantity(t.value, t.unit, bytes);
                    term.insert("name".into(), Value::from(t.name));
                    Value::Object(term)
                })
                .collect();
            map.insert("inputs".into(), Value::from(terms));
            Value::Object(map)
        })
        .collect();
    let calibration: Vec<Value> = estimate
        .calibration
        .iter()
        .map(|c| {
            json!({
                "key": c.key,
                "measured": quantity(c.value, c.unit, bytes),
                "sample": c.sample,
                "used": c.kept_assumption.is_none(),
                "why_not": c.kept_assumption,
            })
        })
        .collect();
    pretty(&json!({
        "scenario": { "name": estimate.name, "description": estimate.description },
        "units": units_name(bytes),
        "calibration": calibration,
        "inputs": inputs,
        "outputs": outputs,
        "projection": series_json(&estimate.projection, bytes),
    }))
}

pub(super) fn sweep(name: &str, series: &Series, bytes: ByteUnits) -> String {
    pretty(&json!({
        "scenario": { "name": name },
        "units": units_name(bytes),
        "sweep": series_json(series, bytes),
    }))
}
