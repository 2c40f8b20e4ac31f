//! OTTL, the OpenTelemetry Transformation Language, as otelcol-contrib's `filter`,
//! `transform`, `routing`, `count` and `tail_sampling` components use it: statements and
//! conditions are parsed and type-checked when the config loads, then evaluated per record.
