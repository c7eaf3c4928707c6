-- smepulse store, schema version 3. Plain SQL types that DuckDB (embedded default) and PostgreSQL share.
-- Answers and classifications are long tables, so any questionnaire fits without schema changes.
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS methodology (
    name VARCHAR NOT NULL, version VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, yaml VARCHAR NOT NULL,
    loaded_at TIMESTAMP NOT NULL, PRIMARY KEY (name, version));
-- One row per response, numbered by response_id (a sequence: concurrent writers never share a number). Its
-- answers and classifications are long tables keyed by that number, so any questionnaire fits without schema
-- changes and a stored answer costs a few bits, not a repeated survey, period and firm id. The embedded file has
-- no index on these tables (DuckDB's ART indexes would be several times the data; the import checks the keys,
-- and its min/max zone maps serve the scans); the server adds unique B-tree indexes (server_indexes.sql).
CREATE SEQUENCE IF NOT EXISTS response_id_seq;
CREATE TABLE IF NOT EXISTS response (
    response_id BIGINT NOT NULL, survey VARCHAR NOT NULL, period VARCHAR NOT NULL, firm_id VARCHAR NOT NULL,
    weight DOUBLE PRECISION NOT NULL, response_date DATE, import_id VARCHAR NOT NULL);
-- Every question id, answer code, dimension and classification value the long tables hold, stored once and
-- referred to by its number: an answer is then two small integers, which the embedded file bit-packs into a
-- few bits (text, even dictionary-compressed, costs twice as much). Written only after claiming the
-- responses_written row below, so two writers never add the same text (no unique index: the server's B-tree
-- could not take a long identifier).
CREATE SEQUENCE IF NOT EXISTS label_id_seq;
CREATE TABLE IF NOT EXISTS label (label_id INTEGER PRIMARY KEY, text VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS coded_attribute (
    response_id BIGINT NOT NULL, dimension INTEGER NOT NULL, value INTEGER NOT NULL);
-- answer NULL: the question was in the file and left blank. An import writes one row per response and
-- question, in runs of one question with consecutive response ids, so the ids cost next to nothing; the
-- views below leave blanks out.
CREATE TABLE IF NOT EXISTS coded_answer (response_id BIGINT NOT NULL, question INTEGER NOT NULL, answer INTEGER);
-- The long tables as schema 2 stored them (keyed by response_id, names and values as text) and as readers
-- know them (one row per survey, period, firm and dimension or question).
CREATE OR REPLACE VIEW response_attribute AS
    SELECT a.response_id, d.text AS dimension, v.text AS value
    FROM coded_attribute a JOIN label d ON d.label_id = a.dimension JOIN label v ON v.label_id = a.value;
CREATE OR REPLACE VIEW response_answer AS
    SELECT a.response_id, q.text AS question, v.text AS answer
    FROM coded_answer a JOIN label q ON q.label_id = a.question JOIN label v ON v.label_id = a.answer;
CREATE OR REPLACE VIEW attribute AS
    SELECT r.survey, r.period, r.firm_id, a.dimension, a.value
    FROM response_attribute a JOIN response r ON r.response_id = a.response_id;
CREATE OR REPLACE VIEW answer AS
    SELECT r.survey, r.period, r.firm_id, a.question, a.answer
    FROM response_answer a JOIN response r ON r.response_id = a.response_id;
-- Updated by every import, so that two imports at once cannot both pass the duplicate check.
INSERT INTO meta VALUES ('responses_written', '') ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS import_log (
    import_id VARCHAR PRIMARY KEY, survey VARCHAR NOT NULL, source VARCHAR NOT NULL, rows INTEGER NOT NULL,
    answers INTEGER NOT NULL, imported_at TIMESTAMP NOT NULL);
CREATE TABLE IF NOT EXISTS vintage (
    vintage_id VARCHAR PRIMARY KEY, survey VARCHAR NOT NULL, methodology VARCHAR NOT NULL,
    methodology_version VARCHAR NOT NULL, methodology_sha256 VARCHAR NOT NULL, input_hash VARCHAR NOT NULL,
    kind VARCHAR NOT NULL, as_of TIMESTAMP NOT NULL, created_at TIMESTAMP NOT NULL, note VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS series (
    vintage_id VARCHAR NOT NULL, period VARCHAR NOT NULL, series VARCHAR NOT NULL, "group" VARCHAR NOT NULL,
    adjustment VARCHAR NOT NULL, value DOUBLE PRECISION, n INTEGER, n_eff DOUBLE PRECISION,
    up DOUBLE PRECISION, same DOUBLE PRECISION, down DOUBLE PRECISION, se DOUBLE PRECISION,
    se_change DOUBLE PRECISION, ci_low DOUBLE PRECISION, ci_high DOUBLE PRECISION, flag VARCHAR NOT NULL,
    PRIMARY KEY (vintage_id, period, series, "group", adjustment));
-- Seasonal adjustment per vintage (docs/seasonal.md): the decisions kept between annual reviews (status,
-- ARIMA model, outliers, holiday regressor), the spec X-13 ran, and the factors, so any SA value can be
-- reproduced (sa = nsa - factor, additive) and explained later.
CREATE TABLE IF NOT EXISTS sa_spec (
    vintage_id VARCHAR NOT NULL, series VARCHAR NOT NULL, "group" VARCHAR NOT NULL, status VARCHAR NOT NULL,
    method VARCHAR NOT NULL, mode VARCHAR NOT NULL, model VARCHAR NOT NULL, outliers VARCHAR NOT NULL,
    holiday VARCHAR NOT NULL, identification VARCHAR NOT NULL, reviewed BOOLEAN NOT NULL, spec VARCHAR NOT NULL,
    PRIMARY KEY (vintage_id, series, "group"));
CREATE TABLE IF NOT EXISTS sa_factor (
    vintage_id VARCHAR NOT NULL, period VARCHAR NOT NULL, series VARCHAR NOT NULL, "group" VARCHAR NOT NULL,
    factor DOUBLE PRECISION, seasonal DOUBLE PRECISION, PRIMARY KEY (vintage_id, period, series, "group"));
