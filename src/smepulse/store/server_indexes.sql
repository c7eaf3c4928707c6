-- The server's keys on the response tables (PostgreSQL; the embedded file checks them at import instead).
CREATE UNIQUE INDEX IF NOT EXISTS response_key ON response (survey, period, firm_id);
CREATE UNIQUE INDEX IF NOT EXISTS response_id_key ON response (response_id);
CREATE UNIQUE INDEX IF NOT EXISTS coded_attribute_key ON coded_attribute (response_id, dimension);
CREATE UNIQUE INDEX IF NOT EXISTS coded_answer_key ON coded_answer (response_id, question);
