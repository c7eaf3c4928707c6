-- Decision tables in the store (DuckDB file; plain SQL PostgreSQL also runs). Append-only audit.
CREATE TABLE IF NOT EXISTS credit_feature_snapshot (
    snapshot_id VARCHAR PRIMARY KEY, firm_id BIGINT NOT NULL, uscc VARCHAR NOT NULL, as_of DATE NOT NULL,
    built_at TIMESTAMP NOT NULL, features VARCHAR NOT NULL, sha256 VARCHAR NOT NULL, source VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS credit_decision (
    seq BIGINT PRIMARY KEY, decision_id VARCHAR NOT NULL UNIQUE, created_at TIMESTAMP NOT NULL,
    uscc VARCHAR NOT NULL, decision VARCHAR NOT NULL, record VARCHAR NOT NULL,
    prev_hash VARCHAR NOT NULL, hash VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS credit_audit_head (id INTEGER PRIMARY KEY, seq BIGINT NOT NULL, hash VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS credit_idempotency (
    key VARCHAR PRIMARY KEY, request_sha256 VARCHAR NOT NULL, decision_id VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL);
CREATE TABLE IF NOT EXISTS credit_loan (
    loan_id VARCHAR PRIMARY KEY, decision_id VARCHAR NOT NULL UNIQUE, uscc VARCHAR NOT NULL, firm_id BIGINT,
    amount DOUBLE PRECISION NOT NULL, annual_rate DOUBLE PRECISION NOT NULL, term_months INTEGER NOT NULL,
    start_date DATE NOT NULL, maturity_date DATE NOT NULL, programmes VARCHAR NOT NULL, booked_at TIMESTAMP NOT NULL);
CREATE TABLE IF NOT EXISTS credit_review (
    review_id VARCHAR PRIMARY KEY, decision_id VARCHAR NOT NULL, requested_at TIMESTAMP NOT NULL,
    note VARCHAR NOT NULL, status VARCHAR NOT NULL, reviewer VARCHAR, resolved_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS credit_candidate (
    programme VARCHAR NOT NULL, list_batch VARCHAR NOT NULL, uscc VARCHAR NOT NULL, class VARCHAR NOT NULL,
    project_id VARCHAR, listed_on DATE NOT NULL, imported_at TIMESTAMP NOT NULL,
    PRIMARY KEY (programme, list_batch, uscc));
-- a review's outcome, recorded by the staff member who resolved it (added 2026-12-03: older stores get the columns)
ALTER TABLE credit_review ADD COLUMN IF NOT EXISTS outcome VARCHAR;
ALTER TABLE credit_review ADD COLUMN IF NOT EXISTS resolution_note VARCHAR;
CREATE INDEX IF NOT EXISTS credit_feature_snapshot_uscc ON credit_feature_snapshot (uscc);
CREATE INDEX IF NOT EXISTS credit_decision_uscc ON credit_decision (uscc);
-- every policy version the service ran, by its sha256 (added 2026-12-03: older stores get the table at open):
-- files is a JSON object {file name: text}; a replay rebuilds the version from it after the directory was edited
CREATE TABLE IF NOT EXISTS credit_policy_version (
    sha256 VARCHAR PRIMARY KEY, version VARCHAR NOT NULL, directory VARCHAR NOT NULL, files VARCHAR NOT NULL,
    archived_at TIMESTAMP NOT NULL);
