-- Schema 2 -> 3: the long tables' names and values as numbers into `label` (schema.sql says why). Runs in the
-- opening transaction, before schema.sql creates the views; both backends run it.
CREATE SEQUENCE IF NOT EXISTS label_id_seq;
CREATE TABLE label (label_id INTEGER PRIMARY KEY, text VARCHAR NOT NULL);
INSERT INTO label SELECT nextval('label_id_seq'), text FROM (
    SELECT question AS text FROM response_answer UNION SELECT answer FROM response_answer
    UNION SELECT dimension FROM response_attribute UNION SELECT value FROM response_attribute) names;
CREATE TABLE coded_attribute (response_id BIGINT NOT NULL, dimension INTEGER NOT NULL, value INTEGER NOT NULL);
INSERT INTO coded_attribute SELECT a.response_id, d.label_id, v.label_id FROM response_attribute a
    JOIN label d ON d.text = a.dimension JOIN label v ON v.text = a.value ORDER BY d.label_id, a.response_id;
CREATE TABLE coded_answer (response_id BIGINT NOT NULL, question INTEGER NOT NULL, answer INTEGER);
INSERT INTO coded_answer SELECT a.response_id, q.label_id, v.label_id FROM response_answer a
    JOIN label q ON q.text = a.question JOIN label v ON v.text = a.answer ORDER BY q.label_id, a.response_id;
DROP VIEW IF EXISTS answer;
DROP VIEW IF EXISTS attribute;
DROP TABLE response_answer;
DROP TABLE response_attribute;
UPDATE meta SET value = '3' WHERE key = 'schema_version';
