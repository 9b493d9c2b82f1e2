-- PostgreSQL's form of ../0003_feedback_event_per_session.sql (same version, same effect): the UNIQUE key
-- of feedback becomes (session_id, event_id) instead of event_id alone. PostgreSQL changes a constraint
-- in place, so rows, ids and the identity sequence stay as they are (SQLite has to rebuild the table).
ALTER TABLE feedback DROP CONSTRAINT feedback_event_id_key;
ALTER TABLE feedback ADD CONSTRAINT feedback_session_id_event_id_key UNIQUE (session_id, event_id);
