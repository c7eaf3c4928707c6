-- Schema 1 -> 2: responses numbered, their classifications and answers keyed by the number (schema.sql says
-- why). Runs in the opening transaction, before schema.sql creates the views; both backends run it.
CREATE SEQUENCE IF NOT EXISTS response_id_seq;
CREATE TABLE response_v2 (
    response_id BIGINT NOT NULL, survey VARCHAR NOT NULL, period VARCHAR NOT NULL, firm_id VARCHAR NOT NULL,
    weight DOUBLE PRECISION NOT NULL, response_date DATE, import_id VARCHAR NOT NULL);
INSERT INTO response_v2 SELECT nextval('response_id_seq'), survey, period, firm_id, weight, response_date, import_id
    FROM response;
CREATE TABLE response_attribute (response_id BIGINT NOT NULL, dimension VARCHAR NOT NULL, value VARCHAR NOT NULL);
INSERT INTO response_attribute SELECT r.response_id, a.dimension, a.value FROM attribute a
    JOIN response_v2 r ON r.survey = a.survey AND r.period = a.period AND r.firm_id = a.firm_id;
CREATE TABLE response_answer (response_id BIGINT NOT NULL, question VARCHAR NOT NULL, answer VARCHAR NOT NULL);
INSERT INTO response_answer SELECT r.response_id, a.question, a.answer FROM answer a
    JOIN response_v2 r ON r.survey = a.survey AND r.period = a.period AND r.firm_id = a.firm_id;
DROP TABLE attribute;
DROP TABLE answer;
DROP TABLE response;
ALTER TABLE response_v2 RENAME TO response;
UPDATE meta SET value = '2' WHERE key = 'schema_version';
