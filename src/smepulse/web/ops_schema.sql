-- Operational tables of the web app (survey operations and sign-in), next to the store's own tables.
-- Plain SQL types that DuckDB and PostgreSQL share.
CREATE TABLE IF NOT EXISTS web_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS web_user (
    username VARCHAR PRIMARY KEY, password_hash VARCHAR NOT NULL, role VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL);
CREATE TABLE IF NOT EXISTS firm (
    firm_id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, sector VARCHAR NOT NULL, region VARCHAR NOT NULL,
    size VARCHAR NOT NULL, exporter VARCHAR NOT NULL, weight DOUBLE PRECISION NOT NULL, email VARCHAR NOT NULL,
    status VARCHAR NOT NULL, updated_at TIMESTAMP NOT NULL);
CREATE TABLE IF NOT EXISTS firm_log (
    logged_at TIMESTAMP NOT NULL, firm_id VARCHAR NOT NULL, action VARCHAR NOT NULL, reason VARCHAR NOT NULL,
    by_user VARCHAR NOT NULL, other_firm VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS wave (
    wave_id VARCHAR PRIMARY KEY, survey VARCHAR NOT NULL, period VARCHAR NOT NULL, opens DATE NOT NULL,
    closes DATE NOT NULL, status VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, closed_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS invitation (
    token VARCHAR PRIMARY KEY, wave_id VARCHAR NOT NULL, firm_id VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL,
    sent INTEGER NOT NULL, last_sent TIMESTAMP, UNIQUE (wave_id, firm_id));
CREATE TABLE IF NOT EXISTS draft (
    token VARCHAR PRIMARY KEY, answers VARCHAR NOT NULL, lang VARCHAR NOT NULL, device VARCHAR NOT NULL,
    started_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL, saves INTEGER NOT NULL,
    block_seconds VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS submission (
    token VARCHAR PRIMARY KEY, wave_id VARCHAR NOT NULL, firm_id VARCHAR NOT NULL, channel VARCHAR NOT NULL,
    received_at TIMESTAMP NOT NULL, started_at TIMESTAMP, lang VARCHAR NOT NULL, device VARCHAR NOT NULL,
    saves INTEGER NOT NULL, block_seconds VARCHAR NOT NULL, UNIQUE (wave_id, firm_id));
CREATE TABLE IF NOT EXISTS mail_log (
    sent_at TIMESTAMP NOT NULL, wave_id VARCHAR NOT NULL, firm_id VARCHAR NOT NULL, kind VARCHAR NOT NULL,
    email VARCHAR NOT NULL, status VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS commentary (
    vintage_id VARCHAR PRIMARY KEY, en VARCHAR NOT NULL, zh VARCHAR NOT NULL, by_user VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL);
